@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// The transport's "suspend until signalled or deadline" answer (`Prefer: wait`): many waiting
/// clients hold suspended connections, not threads, so `/healthz` stays fast meanwhile.
final class AwaitedResponseTests: XCTestCase {
    private var server: TestServer!
    private let board = SignalBoard<String>()

    override func setUpWithError() throws {
        let board = self.board
        server = try TestServer(environment: ["HTTP_MAX_CONNECTIONS": "2000", "HTTP_MAX_CONNECTIONS_PER_IP": "2000"], extraRoutes: { _ in [
            Route("GET", "/test/wait/{key}", "testWait", awaiting: { request in
                let key = request.pathParameters["key"] ?? ""
                let signal = board.wait(for: key)
                return .later(signal, deadline: 3, respond: { signalled in
                    board.forget(signal, for: key)
                    return HTTPResponse(status: signalled ? 200 : 202, body: Data((signalled ? "signalled" : "deadline").utf8))
                })
            }),
            Route("GET", "/test/elsewhere", "testElsewhere", awaiting: { _ in
                let httpThread = pthread_self()
                return .elsewhere {
                    HTTPResponse(status: 200, body: Data((pthread_equal(pthread_self(), httpThread) != 0 ? "http thread" : "elsewhere").utf8))
                }
            }),
        ] })
    }

    override func tearDown() {
        server.stop()
    }

    func testASignalAnswersAWaiterAndTheDeadlineAnswersTheRest() throws {
        let signalled = LockedList<Int>()
        let thread = Thread { [server] in
            if let response = try? server?.connect().request("GET", "/test/wait/a") { signalled.append(response.status) }
        }
        thread.start()
        let deadline = Date().addingTimeInterval(5)
        while board.waitingCount == 0 && Date() < deadline { usleep(5_000) }
        board.signal("a")
        let late = try server.connect().request("GET", "/test/wait/b")
        XCTAssertEqual(late.status, 202)
        XCTAssertEqual(late.text, "deadline")
        while signalled.all.isEmpty && Date() < deadline.addingTimeInterval(5) { usleep(5_000) }
        XCTAssertEqual(signalled.all, [200])
    }

    func testFiveHundredWaitersDoNotDelayHealthz() throws {
        let waiters = 500
        let answered = LockedList<Int>()
        var connections: [HTTPTestConnection] = []
        for _ in 0..<waiters {
            let connection = try HTTPTestConnection(port: server.port, timeoutSeconds: 30)
            try connection.send("GET /test/wait/many HTTP/1.1\r\nHost: x\r\n\r\n")
            connections.append(connection)
        }
        let deadline = Date().addingTimeInterval(10)
        while board.waitingCount < waiters && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(board.waitingCount, waiters, "every waiter is suspended")
        let threadsWhileWaiting = Self.threadCount()
        var slowest = 0.0
        for _ in 0..<20 {
            let started = Date()
            XCTAssertEqual(try server.connect().request("GET", "/healthz").status, 200)
            slowest = max(slowest, Date().timeIntervalSince(started))
        }
        XCTAssertLessThan(slowest, 0.25, "healthz answers at once while \(waiters) clients wait")
        // Every answer comes at the deadline, so reading them in turn takes no longer.
        for connection in connections {
            if let response = try? connection.readResponse() { answered.append(response.status) }
        }
        XCTAssertEqual(answered.all.count, waiters)
        XCTAssertTrue(answered.all.allSatisfy { $0 == 202 })
        XCTAssertLessThan(threadsWhileWaiting, 200, "waiting holds no thread per client (threads: \(threadsWhileWaiting))")
    }

    func testAnAnswerMadeElsewhereIsNotMadeOnTheHTTPThread() throws {
        let response = try server.connect().request("GET", "/test/elsewhere")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "elsewhere")
    }

    func testAListenerAddedAfterTheSignalFiredRunsOffTheRegisteringThread() {
        let signal = ResponseSignal()
        signal.signal()
        XCTAssertEqual(listenerThreads(of: signal, afterRegistering: {}), [false])
    }

    func testSignalSoonWakesTheWaitersOffTheCallersThread() {
        let signal = board.wait(for: "soon")
        XCTAssertEqual(listenerThreads(of: signal, afterRegistering: { board.signalSoon("soon") }), [false])
        XCTAssertEqual(board.waitingCount, 0)
    }

    /// Adds a listener to `signal` on this thread, runs `trigger` here, and returns, once the
    /// listener ran (signalled), whether it ran on this thread.
    private func listenerThreads(of signal: ResponseSignal, afterRegistering trigger: () -> Void) -> [Bool] {
        let caller = pthread_self()
        let onCallersThread = LockedList<Bool>()
        let ran = expectation(description: "listener ran")
        signal.onFire { signalled in
            onCallersThread.append(pthread_equal(pthread_self(), caller) != 0)
            XCTAssertTrue(signalled)
            ran.fulfill()
        }
        trigger()
        wait(for: [ran], timeout: 5)
        return onCallersThread.all
    }

    private static func threadCount() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
        return Int(line?.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? Int.max
    }
}
