import Foundation
@testable import Persistence
import XCTest

/// The pieces of the S3 adapter that need no server: tunables held to S3's limits, part sizes
/// for huge objects, the XML reading, and the error text.
final class S3SettingsTests: XCTestCase {
    private func settings() throws -> S3Settings {
        try S3Settings.validated(endpoint: "http://127.0.0.1:9000", region: "us-east-1", bucket: "bucket", accessKeyID: "AKID",
                                 secretAccessKey: "secret", addressing: "path", requireHTTPS: false).get()
    }

    func testTunablesAreClampedToS3sLimitsByTheStore() throws {
        var settings = try settings()
        settings.partSize = 1
        settings.singlePutLimit = 50 << 30
        settings.maxAttempts = 1000
        settings.listPageSize = 5000
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("s3-settings-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let store = try S3BlobStore(settings: settings, primitives: .crypto, scratchDirectory: scratch)
        XCTAssertEqual(store.settings.partSize, 5 << 20, "S3's smallest part")
        XCTAssertEqual(store.settings.singlePutLimit, 5 << 30, "S3's largest single PUT")
        XCTAssertEqual(store.settings.maxAttempts, 10)
        XCTAssertEqual(store.settings.listPageSize, 1000)
    }

    func testPartSizeGrowsSoNoObjectNeedsMoreThanTenThousandParts() {
        XCTAssertEqual(S3BlobStore.partSize(for: 100 << 20, configured: 8 << 20), 8 << 20)
        let huge: Int64 = 200 << 30  // 200 GiB: 25,600 parts of 8 MiB
        let size = S3BlobStore.partSize(for: huge, configured: 8 << 20)
        XCTAssertGreaterThan(size, 8 << 20)
        XCTAssertLessThanOrEqual((huge + Int64(size) - 1) / Int64(size), 10_000)
    }

    func testXMLReadingMatchesWholeNamesAndDecodesEntities() {
        let text = """
            <ListBucketResult><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>
            <Contents><Key>a&amp;b</Key><Size>1</Size></Contents><Contents><Key>c&#x3C;d&#62;</Key></Contents>
            <NextContinuationToken>t&quot;1</NextContinuationToken><Prefix/></ListBucketResult>
            """
        XCTAssertEqual(S3XML.blocks("Contents", in: text).compactMap { S3XML.first("Key", in: $0) }, ["a&b", "c<d>"])
        XCTAssertEqual(S3XML.values("Key", in: text), ["a&b", "c<d>"], "<KeyCount> is not <Key>")
        XCTAssertEqual(S3XML.first("NextContinuationToken", in: text), "t\"1")
        XCTAssertEqual(S3XML.first("Prefix", in: text), "")
        XCTAssertNil(S3XML.first("Missing", in: text))
        XCTAssertEqual(S3XML.first("Code", in: "<Error><Code>Unclosed"), nil, "an unclosed element yields nothing")
        XCTAssertEqual(S3XML.escape("\"a\"&<b>"), "&quot;a&quot;&amp;&lt;b&gt;")
    }

    func testErrorTextIsBoundedAndFreeOfControlCharacters() {
        let body = Data(("<Error><Code>Slow\nDown</Code><Message>" + String(repeating: "m", count: 5000) + "</Message></Error>").utf8)
        guard case let .service(_, status, code, message, requestID) = S3StoreError.fromResponse(
            operation: "PUT", status: 503, body: body, requestID: "HDR1") else { return XCTFail("expected a service error") }
        XCTAssertEqual(status, 503)
        XCTAssertEqual(code, "Slow Down")
        XCTAssertEqual(message.count, 512)
        XCTAssertEqual(requestID, "HDR1", "the header's request id when the body has none")
    }
}
