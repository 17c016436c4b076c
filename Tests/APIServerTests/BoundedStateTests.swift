@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// Values a client chooses (methods, addresses, proxy headers) and a stalled stdout must not
/// grow the server's state or let a client pose as someone else.
final class BoundedStateTests: XCTestCase {
    // MARK: - Rate limiter

    func testRateLimiterHoldsAtMostItsCapacityOfKeys() {
        let limiter = RateLimiter(.perWindow(1, seconds: 3600, burst: 1), capacity: 100)
        for index in 0..<10_000 {
            _ = limiter.take("198.51.100.\(index)", now: 1000)
        }
        XCTAssertEqual(limiter.count, 100)
    }

    func testRateLimiterEvictsTheLeastRecentlyUsedKey() {
        let limiter = RateLimiter(.perWindow(1, seconds: 3600, burst: 1), capacity: 3)
        XCTAssertNil(limiter.take("a", now: 0))
        XCTAssertNil(limiter.take("b", now: 0))
        XCTAssertNil(limiter.take("c", now: 0))
        XCTAssertNotNil(limiter.take("a", now: 1), "a's bucket is empty, and touching it makes b the oldest")
        XCTAssertNil(limiter.take("d", now: 2), "a new key evicts b")
        XCTAssertEqual(limiter.count, 3)
        XCTAssertNotNil(limiter.take("a", now: 3), "a was kept: still limited")
        XCTAssertNotNil(limiter.take("c", now: 3), "c was kept: still limited")
        XCTAssertNil(limiter.take("b", now: 3), "b was evicted, so it starts again with a full bucket")
        XCTAssertNotNil(limiter.take("a", now: 4), "adding b evicted d, not a (a was used more recently)")
        XCTAssertNil(limiter.take("d", now: 4), "d was evicted")
    }

    func testRateLimiterStillRefillsAndLimits() {
        let limiter = RateLimiter(.perWindow(10, seconds: 10, burst: 2), capacity: 10)
        XCTAssertNil(limiter.take("x", now: 0))
        XCTAssertNil(limiter.take("x", now: 0))
        XCTAssertEqual(limiter.take("x", now: 0), 1)
        XCTAssertNil(limiter.take("x", now: 1))
    }

    // MARK: - Metrics labels

    func testUnknownMethodsShareOneMetricsLabel() throws {
        let server = try TestServer()
        defer { server.stop() }
        for method in ["BREW", "X-ATTACK-1", "X-ATTACK-2", "PROPFIND"] {
            _ = try server.connect().request(method, "/healthz")
        }
        _ = try server.connect().request("GET", "/healthz")
        let text = try server.connect().request("GET", "/metrics").text
        XCTAssertFalse(text.contains("BREW") || text.contains("X-ATTACK") || text.contains("PROPFIND"), text)
        let other = text.split(separator: "\n").filter { $0.hasPrefix("http_requests_total{method=\"other\"") }
        XCTAssertEqual(other, ["http_requests_total{method=\"other\",route=\"unmatched\",status=\"405\"} 4"], text)
        XCTAssertTrue(text.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"), text)
        XCTAssertTrue(text.contains("\nlog_lines_dropped_total "), "the log drop counter is exported")
    }

    func testLabelValuesAreEscapedForTheTextFormat() {
        XCTAssertEqual(Metrics().escape("a\"b\\c\nd"), #"a\"b\\c\nd"#)
        XCTAssertEqual(Metrics().escape("/v1/projects/{id}"), "/v1/projects/{id}")
    }

    // MARK: - Trusted proxy

    func testProxyHeaderIsBelievedOnlyFromATrustedPeer() throws {
        let headers = ["X-Forwarded-For": "203.0.113.7, 198.51.100.23"]
        let trusted = try addressServer(["TRUSTED_PROXY_HEADER": "X-Forwarded-For", "TRUSTED_PROXY_CIDRS": "10.0.0.0/8, 127.0.0.0/8"])
        defer { trusted.stop() }
        XCTAssertEqual(try reportedAddress(trusted, headers), "198.51.100.23", "the hop our proxy appended")
        XCTAssertEqual(try reportedAddress(trusted, [:]), "127.0.0.1")

        let elsewhere = try addressServer(["TRUSTED_PROXY_HEADER": "X-Forwarded-For", "TRUSTED_PROXY_CIDRS": "10.0.0.0/8,::1/128"])
        defer { elsewhere.stop() }
        XCTAssertEqual(try reportedAddress(elsewhere, headers), "127.0.0.1", "a peer outside the ranges cannot choose its address")

        let unset = try addressServer(["TRUSTED_PROXY_HEADER": "X-Forwarded-For"])
        defer { unset.stop() }
        XCTAssertEqual(try reportedAddress(unset, headers), "127.0.0.1", "no ranges: the header is never trusted")
    }

    func testTrustedProxyRangesAreValidatedAtStartUp() {
        let base = ["DATABASE_URL": "postgresql://localhost/db", "APP_ENV": "development",
                    "JWT_SECRET": String(repeating: "s", count: 32), "APP_ENCRYPTION_SECRET": String(repeating: "e", count: 32)]
        let good = try? AppConfig.load(from: base.merging(["TRUSTED_PROXY_CIDRS": "10.0.0.0/8, 192.168.1.1, fd00::/8"]) { $1 }).get()
        XCTAssertEqual(good?.trustedProxyRanges.map(\.description), ["10.0.0.0/8", "192.168.1.1", "fd00::/8"])
        for bad in ["10.0.0.0/33", "10.0.0/8", "fd00::/129", "example.com", "10.0.0.0/", "10.0.0.0/-1"] {
            guard case .failure(let error) = AppConfig.load(from: base.merging(["TRUSTED_PROXY_CIDRS": bad]) { $1 }) else {
                XCTFail("\(bad) was accepted")
                continue
            }
            XCTAssertTrue(String(describing: error).contains("TRUSTED_PROXY_CIDRS: \"\(bad)\""), String(describing: error))
        }
    }

    func testAddressRangesMatchByPrefix() throws {
        let ipv4 = try XCTUnwrap(AddressRange("192.168.0.0/23"))
        XCTAssertTrue(ipv4.contains("192.168.1.255"))
        XCTAssertFalse(ipv4.contains("192.168.2.0"))
        XCTAssertTrue(ipv4.contains("::ffff:192.168.1.2"), "IPv4-mapped IPv6 peers match IPv4 ranges")
        XCTAssertFalse(ipv4.contains("not an address"))
        let ipv6 = try XCTUnwrap(AddressRange("2001:db8::/32"))
        XCTAssertTrue(ipv6.contains("2001:db8:ffff::1"))
        XCTAssertFalse(ipv6.contains("2001:db9::1"))
        XCTAssertFalse(ipv6.contains("192.168.1.2"))
        let single = try XCTUnwrap(AddressRange("10.1.2.3"))
        XCTAssertTrue(single.contains("10.1.2.3"))
        XCTAssertFalse(single.contains("10.1.2.4"))
        XCTAssertTrue(try XCTUnwrap(AddressRange("0.0.0.0/0")).contains("8.8.8.8"))
    }

    func addressServer(_ environment: [String: String]) throws -> TestServer {
        try TestServer(environment: environment, extraRoutes: { environment in
            [Route("GET", "/test/client-address", "testClientAddress") { request in
                try .json(["address": environment.clientAddress(request)])
            }]
        })
    }

    func reportedAddress(_ server: TestServer, _ headers: [String: String]) throws -> String? {
        let response = try server.connect().request("GET", "/test/client-address", headers: headers)
        XCTAssertEqual(response.status, 200, response.text)
        return try response.json()["address"] as? String
    }

    // MARK: - Log buffer

    func testLogBufferDropsAndCountsLinesWhenNobodyReads() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        let buffer = LogBuffer(descriptor: ends[1], maximumPendingBytes: 256 * 1024)
        let line = [UInt8](repeating: UInt8(ascii: "x"), count: 199)
        let started = Date()
        for _ in 0..<50_000 { buffer.append(line) }  // 10 MB into a 64 KiB pipe nobody reads
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(elapsed, 2, "appending never waits for the descriptor")
        XCTAssertGreaterThan(buffer.droppedLines, 40_000)
        XCTAssertLessThanOrEqual(buffer.pendingBytes, buffer.maximumPendingBytes)

        // What did get through is whole lines.
        buffer.stop()
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        var received = [UInt8]()
        var quietSince = Date()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while Date().timeIntervalSince(quietSince) < 0.3 {
            let count = read(ends[0], &chunk, chunk.count)
            if count > 0 {
                received.append(contentsOf: chunk[0..<count])
                quietSince = Date()
            } else {
                usleep(5_000)
            }
        }
        XCTAssertGreaterThan(received.count, 0)
        XCTAssertEqual(received.count % 200, 0, "only whole lines are written")
        XCTAssertEqual(received.count / 200 + buffer.droppedLines, 50_000, "every line was written or counted as dropped")
        close(ends[0])
        close(ends[1])
    }

    /// The writer thread sleeps untimed while there is nothing to write (it woke every 20 ms before),
    /// and a line appended then is still written within the batching interval.
    func testAnIdleLogBufferTakesNoTimerWakeUpsAndStillWritesALinePromptly() throws {
        func switches(_ task: String) throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8)
            let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") })
            return try XCTUnwrap(Int(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespaces) ?? ""))
        }
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[0]); close(ends[1]) }
        let buffer = LogBuffer(descriptor: ends[1])
        defer { buffer.stop() }
        let task = String(try XCTUnwrap(buffer.writerThreadID(waitingUpTo: 10), "the buffer's writer thread started"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/proc/self/task/\(task)"), "its id names one of this process's threads")
        usleep(50_000)
        let idleStart = try switches(task)
        usleep(500_000)
        XCTAssertLessThanOrEqual(try switches(task) - idleStart, 2, "an idle writer is not woken by a timer (about 25 times in 0.5 s before)")

        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        let sent = Date()
        buffer.append(Array("hello".utf8))
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64)
        while received.count < 6 && Date().timeIntervalSince(sent) < 2 {
            let count = read(ends[0], &chunk, chunk.count)
            if count > 0 { received.append(contentsOf: chunk[0..<count]) } else { usleep(1_000) }
        }
        XCTAssertEqual(String(decoding: received, as: UTF8.self), "hello\n")
        XCTAssertLessThan(Date().timeIntervalSince(sent), 0.5, "written within the batching interval, not at the next flush")
    }

    func testTheExitFlushGivesUpOnAStalledDescriptor() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        let buffer = LogBuffer(descriptor: ends[1], maximumPendingBytes: 256 * 1024)
        let line = [UInt8](repeating: UInt8(ascii: "y"), count: 199)
        for _ in 0..<5_000 { buffer.append(line) }
        let started = Date()
        buffer.flush(givingUpAfter: 0.3)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5, "the flush gave up instead of waiting for a reader")
        buffer.stop()
        // Let the writer thread finish before the descriptors go away.
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        var chunk = [UInt8](repeating: 0, count: 65536)
        var quietSince = Date()
        while Date().timeIntervalSince(quietSince) < 0.3 {
            if read(ends[0], &chunk, chunk.count) > 0 { quietSince = Date() } else { usleep(5_000) }
        }
        close(ends[0])
        close(ends[1])
    }
}
