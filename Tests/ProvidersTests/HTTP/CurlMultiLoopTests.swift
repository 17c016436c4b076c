import Domain
import Foundation
@testable import Providers
import Synchronization
import TestSupport
import XCTest

/// The suspended path (`CurlClient.send` on `CurlMultiLoop`) against a loopback server: the same
/// answers, limits and errors as the blocking path, plus what only it has: cancellation of the
/// caller's task and the cap on transfers in flight.
final class CurlMultiLoopTests: ProviderTestCase {
    private func client(timeout: Double = 3, maxResponseBytes: Int64 = 1 << 20, inFlight: Int = 4096) -> CurlClient {
        CurlClient(configuration: HTTPClientConfiguration(
            connectTimeout: 2, requestTimeout: timeout, downloadTimeout: timeout, stallTimeout: 2,
            maxResponseBytes: maxResponseBytes, maxDownloadBytes: 8 << 20, maxIdleHandles: 4, maxTransfersInFlight: inFlight))
    }

    func testPostSendsHeadersAndBodyAndReturnsTheAnswer() async throws {
        let server = track(try FakeHTTPServer { request in
            .json(200, #"{"echo":\#(request.body.count)}"#, headers: [("x-ratelimit-remaining-requests", "99")])
        })
        let request = OutboundRequest(method: .post, url: server.baseURL + "/v1/echo?x=1",
                                      headers: [RequestHeader("Content-Type", "application/json"), .secret("Authorization", "Bearer abc")],
                                      body: Data(#"{"hello":"world"}"#.utf8))
        let response = try await client().send(request).get()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"echo":17}"#)
        XCTAssertEqual(response.headers["X-RateLimit-Remaining-Requests"], "99")
        let seen = try XCTUnwrap(server.requests.first)
        XCTAssertEqual(seen.method, "POST")
        XCTAssertEqual(seen.target, "/v1/echo?x=1")
        XCTAssertEqual(seen.header("authorization"), "Bearer abc")
        XCTAssertNil(seen.header("expect"))
        XCTAssertEqual(seen.bodyText, #"{"hello":"world"}"#)
    }

    func testTheMultiHandleReusesConnections() async throws {
        let server = track(try FakeHTTPServer { _ in .json(200, "{}") })
        let client = client()
        let first = try await client.send(OutboundRequest(method: .get, url: server.baseURL + "/a")).get()
        let second = try await client.send(OutboundRequest(method: .get, url: server.baseURL + "/b")).get()
        XCTAssertEqual(first.newConnections, 1)
        XCTAssertEqual(second.newConnections, 0)
        XCTAssertEqual(server.connectionCount, 1)
    }

    func testADownloadIsStreamedToItsFile() async throws {
        let bytes = Data((0..<100_000).map { UInt8($0 % 251) })
        let server = track(try FakeHTTPServer { _ in .bytes(200, bytes, contentType: "video/mp4") })
        let path = outputDirectory + "/out.mp4"
        let response = try await client().send(OutboundRequest(method: .get, url: server.baseURL + "/v.mp4", destination: .file(path))).get()
        XCTAssertEqual(response.bodyFile, path)
        XCTAssertEqual(response.bodyByteCount, Int64(bytes.count))
        XCTAssertEqual(fileBytes(path), [UInt8](bytes))
    }

    func testASlowAnswerTimesOut() async throws {
        let server = track(try FakeHTTPServer { _ in FakeHTTPServer.Response(status: 200, delay: 2) })
        let started = Date()
        let result = await client(timeout: 0.4).send(OutboundRequest(method: .get, url: server.baseURL + "/slow"))
        XCTAssertEqual(result.transportKind, .timeout)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
    }

    func testABodyOverTheLimitIsCutOff() async throws {
        let server = track(try FakeHTTPServer { _ in
            FakeHTTPServer.Response(status: 200, mode: .oversized(bytes: 4 << 20, declareLength: false))
        })
        let result = await client(maxResponseBytes: 64 * 1024).send(OutboundRequest(method: .get, url: server.baseURL + "/big"))
        XCTAssertEqual(result.transportKind, .responseTooLarge)
    }

    func testARefusedConnectionIsAConnectFailureThatNeverReachedTheServer() async throws {
        let port = try freeLoopbackPort()
        let result = await client().send(OutboundRequest(method: .post, url: "http://127.0.0.1:\(port)/x", body: Data("{}".utf8)))
        guard case let .failure(error) = result else { return XCTFail("expected a failure, got \(result)") }
        XCTAssertEqual(error.kind, .connectFailed)
        XCTAssertFalse(error.mayHaveReachedServer)
    }

    func testAnInvalidURLFailsWithoutATransfer() async throws {
        let result = await client().send(OutboundRequest(method: .get, url: "ftp://127.0.0.1/file"))
        XCTAssertEqual(result.transportKind, .invalidURL)
    }

    func testCancellingTheCallerRemovesItsTransferAtOnce() async throws {
        let server = track(try FakeHTTPServer { _ in FakeHTTPServer.Response(status: 200, delay: 5) })
        let client = client(timeout: 10)
        let call = Task { await client.send(OutboundRequest(method: .get, url: server.baseURL + "/slow")) }
        let deadline = Date().addingTimeInterval(3)
        while server.requests.isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        XCTAssertEqual(server.requests.count, 1, "the request reached the server before the cancel")
        XCTAssertEqual(client.loop.inFlight, 1)
        let cancelled = Date()
        call.cancel()
        let result = await call.value
        XCTAssertEqual(result.transportKind, .cancelled)
        XCTAssertLessThan(Date().timeIntervalSince(cancelled), 1, "not left to run until the server answers")
        XCTAssertEqual(client.loop.inFlight, 0, "its slot is free again")
        // The loop goes on serving others.
        let fast = track(try FakeHTTPServer { _ in .json(200, "{}") })
        let next = try await client.send(OutboundRequest(method: .get, url: fast.baseURL + "/again")).get()
        XCTAssertEqual(next.status, 200)
    }

    func testAnAlreadyCancelledCallerSendsNothing() async throws {
        let server = track(try FakeHTTPServer { _ in .json(200, "{}") })
        let client = client()
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await client.send(OutboundRequest(method: .get, url: server.baseURL + "/never"))
        }
        let result = await call.value
        XCTAssertEqual(result.transportKind, .cancelled)
        XCTAssertEqual(server.requests.count, 0)
    }

    func testCallsBeyondTheCapWaitSuspendedAndRunInTurn() async throws {
        let server = track(try FakeHTTPServer { _ in FakeHTTPServer.Response(status: 200, body: Data("{}".utf8), delay: 0.4) })
        let client = client(inFlight: 2)
        let peak = Mutex(0)
        let sampler = Task {
            while !Task.isCancelled {
                let now = client.loop.inFlight
                peak.withLock { $0 = max($0, now) }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        let started = Date()
        let statuses = await withTaskGroup(of: Int.self) { group in
            for index in 0..<6 {
                group.addTask { (try? await client.send(OutboundRequest(method: .get, url: server.baseURL + "/\(index)")).get().status) ?? 0 }
            }
            var all: [Int] = []
            for await status in group { all.append(status) }
            return all
        }
        sampler.cancel()
        XCTAssertEqual(statuses, Array(repeating: 200, count: 6))
        XCTAssertEqual(peak.withLock { $0 }, 2, "never more than the cap in flight")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.1, "three rounds of two 0.4 s calls")
    }

    func testACallerCancelledWhileWaitingForASlotNeverSends() async throws {
        let server = track(try FakeHTTPServer { _ in FakeHTTPServer.Response(status: 200, body: Data("{}".utf8), delay: 0.8) })
        let client = client(inFlight: 1)
        let holder = Task { await client.send(OutboundRequest(method: .get, url: server.baseURL + "/first")) }
        let deadline = Date().addingTimeInterval(3)
        while client.loop.inFlight == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let waiter = Task { await client.send(OutboundRequest(method: .get, url: server.baseURL + "/second")) }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        let waited = await waiter.value
        XCTAssertEqual(waited.transportKind, .cancelled)
        let held = try await holder.value.get()
        XCTAssertEqual(held.status, 200)
        XCTAssertEqual(server.requests.map(\.path), ["/first"], "the cancelled waiter never sent its request")
    }
}
