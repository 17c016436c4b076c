@testable import APIServer
import Foundation
import Synchronization
import TestSupport
import XCTest

/// Key checks run on the provider work queue, never on an HTTP thread: with two HTTP threads and
/// fifty checks hanging against a provider that never answers, the server keeps answering at once.
final class KeyCheckIsolationTests: XCTestCase {
    /// Two HTTP threads: if a key check ran on one, a handful would stall everything.
    static let settings = [
        "HTTP_THREADS": "2",
        "PROVIDER_THREADS": "10",
        "PROVIDER_QUEUE_LIMIT": "40",
        "KEY_CHECK_TIMEOUT_MS": "1200",
        "KEY_CHECKS_PER_USER": "5",
    ]

    func testFiftyHangingKeyChecksLeaveHealthAndDatabaseRequestsFast() throws {
        let provider = try SilentServer()
        defer { provider.stop() }
        let server = try TestServer(environment: Self.settings.merging(["OPENAI_BASE_URL": provider.baseURL + "/v1"]) { $1 })
        defer { server.stop() }
        let users = try (0..<11).map { try server.signUp("hang-\($0)@example.com") }
        let keyIDs = try users.map { try storeKey(server, token: $0.accessToken) }

        // Fifty checks, five for each of ten users, sent without waiting for their answers.
        var pending: [HTTPTestConnection] = []
        for user in 0..<10 {
            for _ in 0..<5 {
                let connection = try HTTPTestConnection(port: server.port, timeoutSeconds: 30)
                try connection.send(checkRequest(keyIDs[user], token: users[user].accessToken))
                pending.append(connection)
            }
        }
        let work = server.environment.providerWork
        // Not fatal when it fails: the latency checks below then show what went wrong.
        XCTAssertTrue(eventually(seconds: 3) { work.statistics.running + work.statistics.waiting == 50 },
                      "all fifty checks are running or queued")
        XCTAssertTrue(eventually(seconds: 3) { provider.acceptedConnections >= 10 }, "ten checks are connected to the provider")

        // The queue is full: another user's check is refused at once with 503 busy.
        let refused = try timed { try server.post("/v1/api-keys/\(keyIDs[10])/test", [:], token: users[10].accessToken) }
        assertProblem(refused.response, 503, "busy")
        XCTAssertNotNil(refused.response.header("retry-after"))
        XCTAssertLessThan(refused.milliseconds, 50)
        // A user with five checks running may not start a sixth.
        let limited = try server.post("/v1/api-keys/\(keyIDs[0])/test", [:], token: users[0].accessToken)
        assertProblem(limited, 429, "too_many_key_checks")
        XCTAssertNotNil(limited.header("retry-after"))
        let metrics = try server.connect().request("GET", "/metrics").text
        XCTAssertTrue(metrics.contains("work_queue_jobs{queue=\"provider\",state=\"running\"} 10\n"), metrics)
        XCTAssertTrue(metrics.contains("work_queue_jobs{queue=\"provider\",state=\"waiting\"} 40\n"), metrics)
        XCTAssertTrue(metrics.contains("work_queue_refused_total{queue=\"provider\"} 1\n"), metrics)

        // Meanwhile the server answers at once, with and without the database.
        let connection = try server.connect()
        for _ in 0..<20 {
            let health = try timed { try connection.request("GET", "/healthz") }
            XCTAssertEqual(health.response.status, 200)
            XCTAssertLessThan(health.milliseconds, 50, "/healthz stalled behind hanging key checks")
        }
        for _ in 0..<5 {
            let list = try timed { try connection.request("GET", "/v1/api-keys", headers: ["Authorization": "Bearer \(users[3].accessToken)"]) }
            XCTAssertEqual(list.response.status, 200, list.response.text)
            XCTAssertLessThan(list.milliseconds, 50, "an authenticated database request stalled behind hanging key checks")
        }
        XCTAssertEqual(work.statistics.running + work.statistics.waiting, 50, "the checks were still hanging while measured")

        // Every check ends with its timeout verdict, recorded on the key.
        for connection in pending {
            let answer = try connection.readResponse()
            XCTAssertEqual(answer.status, 200, answer.text)
            XCTAssertEqual(try answer.json()["result"] as? String, "inconclusive")
            XCTAssertTrue((try answer.json()["reason"] as? String)?.hasPrefix("timeout") == true, answer.text)
        }
        XCTAssertEqual(pending.count, 50)

        // Finished checks gave their places back.
        let again = try server.post("/v1/api-keys/\(keyIDs[0])/test", [:], token: users[0].accessToken)
        XCTAssertEqual(again.status, 200, again.text)
        try waitUntil("the queue is empty again") { work.statistics.running + work.statistics.waiting == 0 }
    }

    /// A rate-limited provider asking for a 5 s wait (which provider calls otherwise honour up to
    /// 60 s, twice) gets one request and an immediate inconclusive answer.
    func testKeyChecksNeitherRetryNorSleepOutRetryAfter() throws {
        let throttled = try FakeHTTPServer { _ in
            .json(429, #"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
                  headers: [("retry-after", "5")])
        }
        defer { throttled.stop() }
        let server = try TestServer(environment: Self.settings.merging(["OPENAI_BASE_URL": throttled.baseURL + "/v1"]) { $1 })
        defer { server.stop() }
        let user = try server.signUp("throttled@example.com")
        let keyID = try storeKey(server, token: user.accessToken)
        let check = try timed { try server.post("/v1/api-keys/\(keyID)/test", [:], token: user.accessToken) }
        XCTAssertEqual(check.response.status, 200, check.response.text)
        XCTAssertEqual(try check.response.json()["result"] as? String, "inconclusive")
        XCTAssertLessThan(check.milliseconds, 2000, "no retry-after wait")
        XCTAssertEqual(throttled.requests.count, 1, "no retry")
    }

    func testGracefulStopWaitsForADeferredKeyCheck() throws {
        let provider = try SilentServer()
        defer { provider.stop() }
        let server = try TestServer(environment: Self.settings.merging(["OPENAI_BASE_URL": provider.baseURL + "/v1"]) { $1 })
        defer { server.stop() }
        let user = try server.signUp("stop-wait@example.com")
        let keyID = try storeKey(server, token: user.accessToken)
        let connection = try HTTPTestConnection(port: server.port)
        try connection.send(checkRequest(keyID, token: user.accessToken))
        try waitForTheCheck(reaching: provider)

        XCTAssertEqual(server.server.stop(grace: 10), 0, "the stop waited for the check")
        let answer = try connection.readResponse()
        XCTAssertEqual(answer.status, 200, answer.text)
        XCTAssertEqual(try answer.json()["result"] as? String, "inconclusive")
    }

    /// A stop whose grace runs out releases the suspended connection (libmicrohttpd aborts the
    /// process when stopped with one suspended), and the late result goes nowhere.
    func testStopAfterTheGraceLeavesNoSuspendedConnection() throws {
        let provider = try SilentServer()
        defer { provider.stop() }
        let server = try TestServer(environment: Self.settings.merging(["OPENAI_BASE_URL": provider.baseURL + "/v1"]) { $1 })
        defer { server.stop() }
        let user = try server.signUp("stop-abandon@example.com")
        let keyID = try storeKey(server, token: user.accessToken)
        let connection = try HTTPTestConnection(port: server.port)
        try connection.send(checkRequest(keyID, token: user.accessToken))
        try waitForTheCheck(reaching: provider)

        XCTAssertEqual(server.server.stop(grace: 0.05), 1, "one request was still running")
        XCTAssertThrowsError(try connection.readResponse(), "the connection closes without an answer")
        let work = server.environment.providerWork
        try waitUntil("the abandoned check finished") { work.statistics.running == 0 }
    }

    /// Token counting is queued work too (Anthropic's count_tokens may be asked): with the one
    /// provider thread held by a hanging key check and no queue, a count is refused at once.
    func testTokenCountingIsRefusedWithBusyWhenTheProviderQueueIsFull() throws {
        let provider = try SilentServer()
        defer { provider.stop() }
        let settings = ["PROVIDER_THREADS": "1", "PROVIDER_QUEUE_LIMIT": "0", "OPENAI_BASE_URL": provider.baseURL + "/v1"]
        let server = try TestServer(environment: Self.settings.merging(settings) { $1 })
        defer { server.stop() }
        let user = try server.signUp("busy-count@example.com")
        let keyID = try storeKey(server, token: user.accessToken)
        let connection = try HTTPTestConnection(port: server.port, timeoutSeconds: 30)
        try connection.send(checkRequest(keyID, token: user.accessToken))
        try waitForTheCheck(reaching: provider)

        let count = try server.post("/v1/tokens/count", ["model": "gpt-4o", "text": "hello"], token: user.accessToken)
        XCTAssertEqual(count.status, 503, count.text)
        XCTAssertEqual(try count.json()["code"] as? String, "busy")
        XCTAssertNotNil(count.header("retry-after"))
        XCTAssertEqual(try connection.readResponse().status, 200, "the hanging check still ends with its verdict")
    }

    // MARK: - Helpers

    func storeKey(_ server: TestServer, token: String) throws -> String {
        let key = "sk-proj-" + (0..<48).map { _ in String("0123456789abcdef".randomElement() ?? "0") }.joined()
        let created = try server.post("/v1/api-keys", ["provider": "openai", "label": "hanging", "key": key], token: token)
        XCTAssertEqual(created.status, 201, created.text)
        return try XCTUnwrap(try created.json()["id"] as? String)
    }

    func checkRequest(_ keyID: String, token: String) -> String {
        "POST /v1/api-keys/\(keyID)/test HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Length: 0\r\n\r\n"
    }

    func timed<T>(_ body: () throws -> T) rethrows -> (response: T, milliseconds: Double) {
        let started = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        return (value, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
    }

    /// Waits until the key check has connected to the silent provider, saying what was seen if not.
    func waitForTheCheck(reaching provider: SilentServer) throws {
        guard eventually(seconds: 10, { provider.acceptedConnections >= 1 }) else {
            throw TestSupportError("timed out waiting until the check reached the provider "
                + "(provider accepted \(provider.acceptedConnections), listener: \(provider.failure ?? "listening"))")
        }
    }

    func waitUntil(_ what: String, seconds: Double = 10, _ condition: () -> Bool) throws {
        guard eventually(seconds: seconds, condition) else { throw TestSupportError("timed out waiting until \(what)") }
    }

    func eventually(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { return false }
            usleep(5_000)
        }
        return true
    }

    func assertProblem(_ response: HTTPTestConnection.Response, _ status: Int, _ code: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(response.status, status, response.text, file: file, line: line)
        XCTAssertEqual(response.header("content-type"), "application/problem+json", file: file, line: line)
        XCTAssertEqual((try? response.json())?["code"] as? String, code, file: file, line: line)
        XCTAssertNotNil(response.header("x-request-id"), file: file, line: line)
    }
}

/// A "provider" that accepts connections, reads nothing and never answers.
///
/// Descriptor discipline matters here because the whole suite shares one process: the listener
/// is only shut down by `stop` and closed by the accept thread once it has left `accept`, and
/// accepted sockets are closed under the lock that records them, so neither can close or shut
/// down a descriptor number that another test has since been given.
final class SilentServer: Sendable {
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let state = Mutex<(accepted: [Int32], stopped: Bool, failure: String?)>(([], false, nil))

    init() throws {
        (listener, port) = try listenOnLoopback(backlog: 256)
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    let error = errno
                    if error == EINTR || error == ECONNABORTED { continue }
                    state.withLock { if !$0.stopped { $0.failure = "accept failed: \(String(cString: strerror(error)))" } }
                    break
                }
                let kept = state.withLock { state -> Bool in
                    guard !state.stopped else { return false }
                    state.accepted.append(client)
                    return true
                }
                if !kept { close(client); break }
            }
            close(listener)
        }
    }

    var acceptedConnections: Int { state.withLock { $0.accepted.count } }

    /// Why the accept loop ended before `stop`, if it did (shown when a test times out).
    var failure: String? { state.withLock { $0.failure } }

    func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            for client in state.accepted { close(client) }
            state.accepted.removeAll()
        }
        shutdown(listener, Int32(SHUT_RDWR))
    }
}
