import Domain
import Foundation
import Providers
import Synchronization
import TestSupport
import XCTest

/// Records requested waits instead of sleeping, so retry tests are instant and exact.
final class SleepRecorder: Sendable {
    private let delays = Mutex<[Double]>([])
    var recorded: [Double] { delays.withLock { $0 } }

    var timing: RetryTiming {
        RetryTiming(sleep: { [self] seconds in delays.withLock { $0.append(seconds) } },
                    random: { 0.5 }, now: { Date() })
    }
}

/// Shared setup for provider tests: short timeouts, instant retries, captured logs, a scratch
/// output folder, and a check after every test that no piece of a key (any 8 characters of
/// one) reached a log line, a recorded error description or a URL sent to a fake server.
class ProviderTestCase: XCTestCase {
    var logs = LogCapture()
    var sleeps = SleepRecorder()
    var outputDirectory = ""
    private var servers: [FakeHTTPServer] = []

    override func setUp() {
        super.setUp()
        logs = LogCapture()
        sleeps = SleepRecorder()
        outputDirectory = NSTemporaryDirectory() + "providers-test-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let leak = TestKeys.leakDetector.firstLeak(in: logs.lines) {
            XCTFail("a piece of a key (\(leak.piece)) reached the log: \(leak.text)")
        }
        for server in servers {
            if let leak = TestKeys.leakDetector.firstLeak(in: server.requests.map(\.target)) {
                XCTFail("a piece of a key (\(leak.piece)) was put in a URL: \(leak.text)")
            }
            server.stop()
        }
        servers.removeAll()
        try? FileManager.default.removeItem(atPath: outputDirectory)
        super.tearDown()
    }

    /// Registers a server so it is stopped and its URLs checked after the test.
    func track(_ server: FakeHTTPServer) -> FakeHTTPServer {
        servers.append(server)
        return server
    }

    func makeClient(timeout: Double = 3, stall: Double = 2, streamTimeout: Double? = nil, maxResponseBytes: Int64 = 1 << 20,
                    maxDownloadBytes: Int64 = 8 << 20) -> CurlClient {
        CurlClient(configuration: HTTPClientConfiguration(
            connectTimeout: 2, requestTimeout: timeout, downloadTimeout: timeout, stallTimeout: stall, streamTimeout: streamTimeout ?? timeout,
            maxResponseBytes: maxResponseBytes, maxInlineMediaResponseBytes: 4 << 20,
            maxDownloadBytes: maxDownloadBytes, maxIdleHandles: 4))
    }

    func makeContext(client: CurlClient? = nil, retry: RetryPolicy = RetryPolicy()) -> AdapterContext {
        AdapterContext(client: client ?? makeClient(), retryPolicy: retry, timing: sleeps.timing, logger: logs.logger)
    }

    /// Runs `body`, expecting a `ProviderError`; records its description for the leak check.
    @discardableResult
    func expectProviderError<T>(_ body: () throws(ProviderError) -> T, file: StaticString = #filePath,
                                line: UInt = #line) -> ProviderError? {
        do {
            let value = try body()
            XCTFail("expected a ProviderError, got \(value)", file: file, line: line)
            return nil
        } catch {
            logs.note(error.description)
            logs.note(String(reflecting: error))
            XCTAssertNil(TestKeys.leak(in: error.description), "a piece of a key in the error: \(error)", file: file, line: line)
            return error
        }
    }

    /// The same for a suspended call (submit, poll, cancel).
    @discardableResult
    func expectProviderError<T>(_ body: () async throws(ProviderError) -> T, file: StaticString = #filePath,
                                line: UInt = #line) async -> ProviderError? {
        do {
            let value = try await body()
            XCTFail("expected a ProviderError, got \(value)", file: file, line: line)
            return nil
        } catch {
            logs.note(error.description)
            logs.note(String(reflecting: error))
            XCTAssertNil(TestKeys.leak(in: error.description), "a piece of a key in the error: \(error)", file: file, line: line)
            return error
        }
    }

    func fileBytes(_ path: String) -> [UInt8] {
        (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
    }
}
