import Foundation
import Synchronization
import TestSupport
import XCTest

/// The tests' socket calls survive the signals the test process takes (CI once read an `EINTR`
/// from `recv` as a dropped connection).
final class SocketCallsTests: XCTestCase {
    func testAReceiveInterruptedByASignalIsRepeatedAndGetsTheBytes() throws {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        action.sa_flags = SA_RESTART  // as Dispatch installs its handlers: still no restart with a timeout
        sigaction(SIGUSR1, &action, nil)

        let plain = try interruptedReceive { fd, chunk in recv(fd, &chunk, chunk.count, 0) }
        XCTAssertEqual(plain.count, -1, "the setup must interrupt a plain recv, or this test proves nothing")
        XCTAssertEqual(plain.error, EINTR)

        let repeated = try interruptedReceive { fd, chunk in SocketCalls.receive(fd, into: &chunk) }
        XCTAssertEqual(repeated.count, 5, "errno \(repeated.error)")
        XCTAssertEqual(repeated.bytes, Array("hello".utf8))
    }

    func testConnectToLoopbackReachesAListenerAndReportsARefusal() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        XCTAssertEqual(listen(listener, 1), 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        XCTAssertTrue(SocketCalls.connectToLoopback(client, port: port))
        close(listener)   // closed once, here: nothing listens on the port after it
        let refused = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(refused) }
        XCTAssertFalse(SocketCalls.connectToLoopback(refused, port: port), "nothing listens there any more")
        XCTAssertEqual(errno, ECONNREFUSED)
    }

    func testSendAllDeliversEveryByteOfALargeBuffer() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let payload = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let received = Mutex(Data())
        let reader = Thread { [fd = fds[1]] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = SocketCalls.receive(fd, into: &chunk)
                guard count > 0 else { break }
                received.withLock { $0.append(contentsOf: chunk[0..<count]) }
            }
        }
        reader.start()
        XCTAssertTrue(SocketCalls.sendAll(fds[0], payload))
        shutdown(fds[0], Int32(SHUT_WR))
        let deadline = Date().addingTimeInterval(10)
        while received.withLock({ $0.count }) < payload.count, Date() < deadline { usleep(10_000) }
        XCTAssertEqual(received.withLock { $0 }, payload)
    }

    /// Blocks a thread in `call` on a socket with a receive timeout, signals that thread with
    /// SIGUSR1 ten times, 20 ms apart, while it waits (so at least one lands inside the call even
    /// on a slow machine), then writes "hello"; returns what `call` returned.
    private func interruptedReceive(_ call: @escaping @Sendable (Int32, inout [UInt8]) -> Int) throws
        -> (count: Int, error: Int32, bytes: [UInt8]) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let state = Mutex<(thread: pthread_t?, result: (Int, Int32, [UInt8])?)>((nil, nil))
        // The reader stays alive until the signals are sent: signalling a thread that has ended is undefined.
        let mayEnd = DispatchSemaphore(value: 0)
        defer { mayEnd.signal() }
        let reader = Thread { [fd = fds[0]] in
            state.withLock { $0.thread = pthread_self() }
            var chunk = [UInt8](repeating: 0, count: 16)
            let count = call(fd, &chunk)
            let error = errno
            state.withLock { $0.result = (count, error, count > 0 ? Array(chunk[0..<count]) : []) }
            mayEnd.wait()
        }
        reader.start()
        var waited = 0
        while state.withLock({ $0.thread }) == nil, waited < 500 { usleep(10_000); waited += 1 }
        let thread = try XCTUnwrap(state.withLock { $0.thread })
        usleep(100_000)  // into recv
        for _ in 0..<10 where state.withLock({ $0.result }) == nil {
            XCTAssertEqual(pthread_kill(thread, SIGUSR1), 0)
            usleep(20_000)
        }
        _ = "hello".withCString { send(fds[1], $0, 5, Int32(MSG_NOSIGNAL)) }
        waited = 0
        while state.withLock({ $0.result }) == nil, waited < 500 { usleep(10_000); waited += 1 }
        let result = try XCTUnwrap(state.withLock { $0.result })
        return (result.0, result.1, result.2)
    }
}
