import Domain
import Foundation
@testable import Providers
import TestSupport
import Synchronization
import XCTest

final class CurlClientTests: ProviderTestCase {
    func testPostSendsHeadersAndBodyAndCapturesResponseHeaders() throws {
        let server = track(try FakeHTTPServer { request in
            .json(200, #"{"echo":\#(request.body.count)}"#, headers: [("x-ratelimit-remaining-requests", "99"),
                                                                       ("Retry-After", "3")])
        })
        let client = makeClient()
        let request = OutboundRequest(method: .post, url: server.baseURL + "/v1/echo?x=1",
                                  headers: [RequestHeader("Content-Type", "application/json"), .secret("Authorization", "Bearer abc")],
                                  body: Data(#"{"hello":"world"}"#.utf8))
        let response = try client.perform(request).get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"echo":17}"#)
        XCTAssertEqual(response.headers["X-RateLimit-Remaining-Requests"], "99")
        XCTAssertEqual(response.headers.withPrefix("x-ratelimit-"), ["x-ratelimit-remaining-requests": "99"])
        let seen = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(seen.method, "POST")
        XCTAssertEqual(seen.target, "/v1/echo?x=1")
        XCTAssertEqual(seen.header("authorization"), "Bearer abc")
        XCTAssertEqual(seen.header("content-type"), "application/json")
        XCTAssertNil(seen.header("expect"))
        XCTAssertEqual(seen.bodyText, #"{"hello":"world"}"#)
    }

    func testPutAndDeleteUseTheirMethods() throws {
        let server = track(try FakeHTTPServer { _ in .empty(204) })
        let client = makeClient()
        _ = try client.perform(OutboundRequest(method: .put, url: server.baseURL + "/cancel")).get()
        _ = try client.perform(OutboundRequest(method: .delete, url: server.baseURL + "/tasks/1")).get()
        XCTAssertEqual(server.requests.map(\.method), ["PUT", "DELETE"])
    }

    func testConnectionsAreReused() throws {
        let server = track(try FakeHTTPServer { _ in .json(200, "{}") })
        let client = makeClient()
        let first = try client.perform(OutboundRequest(method: .get, url: server.baseURL + "/a")).get()
        let second = try client.perform(OutboundRequest(method: .get, url: server.baseURL + "/b")).get()
        XCTAssertEqual(first.newConnections, 1)
        XCTAssertEqual(second.newConnections, 0)
        XCTAssertEqual(server.connectionCount, 1)
    }

    func testDeclaredOversizedBodyIsRefused() throws {
        let server = track(try FakeHTTPServer { _ in
            FakeHTTPServer.Response(status: 200, mode: .oversized(bytes: 4 << 20, declareLength: true))
        })
        let result = makeClient(maxResponseBytes: 64 * 1024).perform(OutboundRequest(method: .get, url: server.baseURL + "/big"))
        XCTAssertEqual(result.transportKind, .responseTooLarge)
    }

    func testUndeclaredOversizedBodyIsCutOffWhileStreaming() throws {
        let server = track(try FakeHTTPServer { _ in
            FakeHTTPServer.Response(status: 200, mode: .oversized(bytes: 4 << 20, declareLength: false))
        })
        let result = makeClient(maxResponseBytes: 64 * 1024).perform(OutboundRequest(method: .get, url: server.baseURL + "/big"))
        XCTAssertEqual(result.transportKind, .responseTooLarge)
    }

    func testSlowAnswerTimesOut() throws {
        let server = track(try FakeHTTPServer { _ in FakeHTTPServer.Response(status: 200, delay: 2) })
        let started = Date()
        let result = makeClient(timeout: 0.4).perform(OutboundRequest(method: .get, url: server.baseURL + "/slow"))
        XCTAssertEqual(result.transportKind, .timeout)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
    }

    func testBodyStalledMidwayTimesOut() throws {
        let server = track(try FakeHTTPServer { _ in
            FakeHTTPServer.Response(status: 200, body: Data(repeating: 65, count: 1000), mode: .stallMidBody(after: 100, seconds: 2))
        })
        let result = makeClient(timeout: 0.5).perform(OutboundRequest(method: .get, url: server.baseURL + "/stall"))
        XCTAssertEqual(result.transportKind, .timeout)
    }

    /// A streamed answer that keeps coming may outlast an ordinary call's limit (a long answer
    /// streams for minutes); a JSON answer as slow is still cut at that limit.
    func testASteadyStreamOutlastsTheCallLimitWhileAJSONAnswerDoesNot() throws {
        let server = track(try FakeHTTPServer { _ in
            FakeHTTPServer.Response(status: 200, body: Data(repeating: 66, count: 400), mode: .paced(pieces: 4, interval: 0.4))
        })
        let client = makeClient(timeout: 0.6, stall: 2, streamTimeout: 5)
        let received = Mutex(0)
        var streamed = OutboundRequest(method: .post, url: server.baseURL + "/stream")
        streamed.bodySink = { bytes in received.withLock { $0 += bytes.count }; return true }
        let result = client.perform(streamed)
        guard case .success(let response) = result else { return XCTFail("the stream was cut: \(result)") }
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(received.withLock { $0 }, 400, "every piece, 1.2 s after the first")
        XCTAssertEqual(client.perform(OutboundRequest(method: .post, url: server.baseURL + "/json")).transportKind, .timeout)
    }

    func testAbruptCloseIsALostConnection() throws {
        let server = track(try FakeHTTPServer { _ in FakeHTTPServer.Response(status: 200, mode: .closeAbruptly) })
        let result = makeClient().perform(OutboundRequest(method: .get, url: server.baseURL + "/gone"))
        XCTAssertEqual(result.transportKind, .connectionLost)
    }

    func testRefusedConnectionNeverReachedTheServer() throws {
        let port = try freeLoopbackPort()
        let result = makeClient().perform(OutboundRequest(method: .post, url: "http://127.0.0.1:\(port)/x"))
        guard case let .failure(error) = result else { return XCTFail("expected failure") }
        XCTAssertEqual(error.kind, .connectFailed)
        XCTAssertFalse(error.mayHaveReachedServer)
    }

    func testBodyStreamsToFileAndErrorBodiesStayInMemory() throws {
        let payload = Data((0..<300_000).map { UInt8($0 % 251) })
        let server = track(try FakeHTTPServer { request in
            request.path == "/ok" ? .bytes(200, payload, contentType: "video/mp4")
                : .json(404, #"{"error":"missing"}"#)
        })
        let client = makeClient()
        let path = outputDirectory + "/out.mp4"
        let ok = try client.perform(OutboundRequest(method: .get, url: server.baseURL + "/ok", destination: .file(path))).get()
        XCTAssertEqual(ok.bodyFile, path)
        XCTAssertTrue(ok.body.isEmpty)
        XCTAssertEqual(ok.bodyByteCount, Int64(payload.count))
        XCTAssertEqual(Data(fileBytes(path)), payload)

        let missingPath = outputDirectory + "/missing.mp4"
        let missing = try client.perform(OutboundRequest(method: .get, url: server.baseURL + "/nope", destination: .file(missingPath))).get()
        XCTAssertEqual(missing.status, 404)
        XCTAssertNil(missing.bodyFile)
        XCTAssertEqual(String(decoding: missing.body, as: UTF8.self), #"{"error":"missing"}"#)
        XCTAssertFalse(FileManager.default.fileExists(atPath: missingPath))
    }

    func testOversizedDownloadLeavesNoPartialFile() throws {
        let server = track(try FakeHTTPServer { _ in
            FakeHTTPServer.Response(status: 200, mode: .oversized(bytes: 4 << 20, declareLength: false))
        })
        let path = outputDirectory + "/partial.bin"
        let result = makeClient(maxDownloadBytes: 256 * 1024)
            .perform(OutboundRequest(method: .get, url: server.baseURL + "/x", destination: .file(path)))
        XCTAssertEqual(result.transportKind, .responseTooLarge)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testRedirectsAreFollowedOnlyWhenAskedAndCredentialsStayWithTheirOrigin() throws {
        let storage = track(try FakeHTTPServer { _ in .bytes(200, Data("video".utf8), contentType: "video/mp4") })
        let api = track(try FakeHTTPServer { request in
            switch request.path {
            case "/download": .empty(302, headers: [("Location", "/files/1")])
            case "/files/1": .empty(302, headers: [("Location", storage.baseURL + "/blob/1")])
            default: .empty(404)
            }
        })
        let client = makeClient()
        let headers = [RequestHeader.secret("x-goog-api-key", "abc"), RequestHeader("Accept", "*/*")]
        let unfollowed = try client.perform(OutboundRequest(method: .get, url: api.baseURL + "/download", headers: headers)).get()
        XCTAssertEqual(unfollowed.status, 302)

        let followed = try client.perform(OutboundRequest(method: .get, url: api.baseURL + "/download", headers: headers,
                                                      maxRedirects: 5)).get()
        XCTAssertEqual(followed.status, 200)
        XCTAssertEqual(followed.url, storage.baseURL + "/blob/1")
        XCTAssertEqual(String(decoding: followed.body, as: UTF8.self), "video")
        XCTAssertEqual(api.requests.last?.header("x-goog-api-key"), "abc", "same origin keeps the key")
        let atStorage = try XCTUnwrap(storage.requests.first)
        XCTAssertNil(atStorage.header("x-goog-api-key"), "another origin must not see the key")
        XCTAssertEqual(atStorage.header("accept"), "*/*")
    }

    func testRedirectLoopsAreCut() throws {
        let server = track(try FakeHTTPServer { _ in .empty(302, headers: [("Location", "/again")]) })
        let result = makeClient().perform(OutboundRequest(method: .get, url: server.baseURL + "/again", maxRedirects: 3))
        XCTAssertEqual(result.transportKind, .redirectRefused)
        XCTAssertEqual(server.requests.count, 4)
    }

    func testHTTPSToHTTPRedirectIsRefused() {
        let request = OutboundRequest(method: .get, url: "https://api.example.com/a", maxRedirects: 2)
        let response = OutboundResponse(status: 302, headers: HTTPHeaders([("Location", "http://api.example.com/b")]),
                                    body: Data(), bodyFile: nil, bodyByteCount: 0, url: request.url, newConnections: 0)
        guard case let .failure(error) = CurlClient.redirect(from: request, response: response) else {
            return XCTFail("downgrade must be refused")
        }
        XCTAssertEqual(error.kind, .redirectRefused)
    }

    func testConcurrentCallsFromManyThreads() throws {
        let server = track(try FakeHTTPServer { request in .json(200, #"{"path":"\#(request.path)"}"#) })
        let client = makeClient()
        DispatchQueue.concurrentPerform(iterations: 24) { index in
            let response = try? client.perform(OutboundRequest(method: .get, url: server.baseURL + "/n\(index)")).get()
            XCTAssertEqual(response.map { String(decoding: $0.body, as: UTF8.self) }, #"{"path":"/n\#(index)"}"#)
        }
        XCTAssertEqual(server.requests.count, 24)
    }
}

extension Result where Failure == TransportError {
    var transportKind: TransportError.Kind? {
        if case let .failure(error) = self { return error.kind }
        return nil
    }
}
