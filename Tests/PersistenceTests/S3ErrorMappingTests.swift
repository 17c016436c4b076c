import Domain
import Foundation
@testable import Persistence
import Synchronization
import TestSupport
import XCTest

/// How the S3 adapter reads failures: S3's error XML against a fake server that answers what
/// S3 answers, retries with backoff for 5xx and SlowDown (bounded), none for the rest, and wrong
/// credentials against moto with its signature checking switched on.
final class S3ErrorMappingTests: XCTestCase {
    private static let secret = "wJalrXUtnFEMI-test-secret-never-printed"
    private var scratch = ""

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("s3-errors-\(UUID().uuidString)").path
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func makeStore(endpoint: String, maxAttempts: Int = 4, sleeps: SleepLog? = nil,
                           accessKeyID: String = "AKIDTEST", bucket: String = "bucket") throws -> S3BlobStore {
        var settings = try S3Settings.validated(endpoint: endpoint, region: "us-east-1", bucket: bucket, accessKeyID: accessKeyID,
                                                secretAccessKey: Self.secret, addressing: "path", requireHTTPS: false).get()
        settings.maxAttempts = maxAttempts
        settings.singlePutLimit = 1 << 20
        settings.partSize = 5 << 20
        return try S3BlobStore(settings: settings, primitives: .crypto, scratchDirectory: scratch,
                               sleep: { seconds in sleeps?.waits.withLock { $0.append(seconds) } })
    }

    private static func errorXML(_ code: String, _ message: String, requestID: String = "REQ123") -> Data {
        Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>\(code)</Code><Message>\(message)</Message><RequestId>\(requestID)</RequestId></Error>
            """.utf8)
    }

    func testSlowDownIsRetriedWithBackoffThenSucceeds() throws {
        let puts = Mutex(0)
        let server = try FakeHTTPServer { request in
            if request.method == "HEAD" { return .empty(404) }
            let attempt = puts.withLock { count -> Int in count += 1; return count }
            return attempt == 1
                ? .bytes(503, Self.errorXML("SlowDown", "Please reduce your request rate."), contentType: "application/xml")
                : .empty(200, headers: [("ETag", "\"abc\"")])
        }
        defer { server.stop() }
        let sleeps = SleepLog()
        let store = try makeStore(endpoint: server.baseURL, sleeps: sleeps)
        let blob = try store.put(Data("retried".utf8), owner: blobOwner)
        XCTAssertEqual(puts.withLock { $0 }, 2, "one SlowDown, then the same PUT again")
        let sent = server.requests.filter { $0.method == "PUT" }
        XCTAssertEqual(sent.count, 2)
        XCTAssertEqual(sent.last?.body, Data("retried".utf8), "the retried PUT carries the whole body again")
        XCTAssertEqual(sent.last?.path, "/bucket/\(blob.key)")
        XCTAssertEqual(sent.last?.header("x-amz-content-sha256"), blob.sha256)
        let waits = sleeps.waits.withLock { $0 }
        XCTAssertEqual(waits.count, 1)
        XCTAssertTrue(waits.allSatisfy { $0 >= 0.1 && $0 < 0.2 }, "the first wait is half to all of 0.2 s (got \(waits))")
    }

    func testPersistentServerErrorsStopAfterTheAttemptLimit() throws {
        let server = try FakeHTTPServer { _ in .bytes(500, Self.errorXML("InternalError", "We encountered an internal error."), contentType: "application/xml") }
        defer { server.stop() }
        let sleeps = SleepLog()
        let store = try makeStore(endpoint: server.baseURL, maxAttempts: 3, sleeps: sleeps)
        XCTAssertThrowsError(try store.delete(BlobKey.make(owner: blobOwner, hex: String(repeating: "ab", count: 32)))) { error in
            guard case let .service(_, status, code, message, requestID)? = error as? S3StoreError else {
                return XCTFail("expected a service error, got \(error)")
            }
            XCTAssertEqual(status, 500)
            XCTAssertEqual(code, "InternalError")
            XCTAssertEqual(message, "We encountered an internal error.")
            XCTAssertEqual(requestID, "REQ123")
        }
        XCTAssertEqual(server.requests.count, 3)
        XCTAssertEqual(sleeps.waits.withLock { $0.count }, 2)
    }

    func testRefusedCredentialsAreNotRetriedAndSayWhatToCheck() throws {
        let server = try FakeHTTPServer { _ in
            .bytes(403, Self.errorXML("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
                   contentType: "application/xml")
        }
        defer { server.stop() }
        let store = try makeStore(endpoint: server.baseURL)
        XCTAssertThrowsError(try store.keys()) { error in
            let storeError = error as? S3StoreError
            XCTAssertEqual(storeError?.isCredentialProblem, true)
            let text = String(describing: error)
            XCTAssertTrue(text.contains("HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist"), text)
            XCTAssertTrue(text.contains("check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and S3_REGION"), text)
            XCTAssertTrue(text.contains("REQ123"), text)
            XCTAssertFalse(text.contains(Self.secret), "the secret is never in an error")
        }
        XCTAssertEqual(server.requests.count, 1, "a 403 is final")
    }

    func testAnAnswerWithoutABodyIsNamedAfterItsStatus() throws {
        let server = try FakeHTTPServer { _ in .empty(403) }
        defer { server.stop() }
        let store = try makeStore(endpoint: server.baseURL)
        XCTAssertThrowsError(try store.exists(BlobKey.make(owner: blobOwner, hex: String(repeating: "cd", count: 32)))) { error in
            XCTAssertEqual(error as? S3StoreError, .service(operation: "HEAD \(BlobKey.make(owner: blobOwner, hex: String(repeating: "cd", count: 32)))",
                                                            status: 403, code: "Forbidden", message: "", requestID: nil))
        }
    }

    func testAFailedCompletionInsideA200IsAnErrorAndAbortsTheUpload() throws {
        let server = try FakeHTTPServer { request in
            switch (request.method, request.query["uploadId"] != nil, request.query["uploads"] != nil) {
            case ("HEAD", _, _): return .empty(404)
            case ("POST", false, true):
                return .bytes(200, Data("<InitiateMultipartUploadResult><Bucket>bucket</Bucket><UploadId>UP&amp;1</UploadId></InitiateMultipartUploadResult>".utf8),
                              contentType: "application/xml")
            case ("PUT", true, _): return .empty(200, headers: [("ETag", "\"part-\(request.query["partNumber"] ?? "")\"")])
            case ("POST", true, _): return .bytes(200, Self.errorXML("InternalError", "completion failed"), contentType: "application/xml")
            case ("DELETE", true, _): return .empty(204)
            default: return .empty(400)
            }
        }
        defer { server.stop() }
        let store = try makeStore(endpoint: server.baseURL, maxAttempts: 1)
        var data = Data(repeating: 7, count: (5 << 20) + 1)
        data[0] = 1
        XCTAssertThrowsError(try store.put(data, owner: blobOwner)) { error in
            guard case let .service(operation, _, code, _, _)? = error as? S3StoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(operation.hasPrefix("CompleteMultipartUpload"), operation)
            XCTAssertEqual(code, "InternalError")
        }
        let methods = server.requests.map { "\($0.method) \($0.query["partNumber"] ?? "")" }
        XCTAssertEqual(methods, ["HEAD ", "POST ", "PUT 1", "PUT 2", "POST ", "DELETE "])
        XCTAssertEqual(server.requests.last?.query["uploadId"], "UP&1", "the upload id is decoded from the XML and sent back")
        let completion = try XCTUnwrap(server.requests.first { $0.method == "POST" && $0.query["uploadId"] != nil })
        XCTAssertTrue(completion.bodyText.contains("<Part><PartNumber>2</PartNumber><ETag>&quot;part-2&quot;</ETag></Part>"), completion.bodyText)
    }

    func testAConnectionRefusedIsATransportErrorAfterRetries() throws {
        let port = try freeLoopbackPort()
        let sleeps = SleepLog()
        let store = try makeStore(endpoint: "http://127.0.0.1:\(port)", maxAttempts: 2, sleeps: sleeps)
        XCTAssertThrowsError(try store.put(Data("x".utf8), owner: blobOwner)) { error in
            guard case .transport? = error as? S3StoreError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(sleeps.waits.withLock { $0.count }, 1)
    }

    /// moto checks signatures and access keys once `INITIAL_NO_AUTH_ACTION_COUNT` is spent; with 0,
    /// an access key it does not know is refused as S3 refuses it.
    func testUnknownAccessKeyIsRefusedByAServerThatChecksSignatures() throws {
        let server = try S3MotoServer.start(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"])
        let store = try makeStore(endpoint: server.endpoint, accessKeyID: "AKIDUNKNOWN", bucket: "checked-bucket")
        // A listing, not a HEAD: HEAD answers carry no body, so no S3 error code.
        XCTAssertThrowsError(try store.keys()) { error in
            guard case let .service(_, status, code, _, _)? = error as? S3StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(status, 403)
            XCTAssertEqual(code, "InvalidAccessKeyId")
            XCTAssertEqual((error as? S3StoreError)?.isCredentialProblem, true)
        }
    }
}

/// The waits the store asked for instead of sleeping.
final class SleepLog: Sendable {
    let waits = Mutex<[Double]>([])
}
