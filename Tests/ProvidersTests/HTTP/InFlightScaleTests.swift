import Domain
import Foundation
@testable import Providers
import Synchronization
import TestSupport
import XCTest

/// Issue 14: an in-flight provider call is not a thread. 2,000 chat completions are in flight at
/// once against `fake-providers` (a separate process, so its threads are not counted here), each
/// answered after 2 s, through the real OpenAI adapter. All succeed in about one answer's time,
/// while this process gains at most a few threads (the transfer loop's one; the cooperative pool
/// has one per core) and a bounded amount of memory. The figures are printed for BENCHMARKS.md.
final class InFlightScaleTests: ProviderTestCase {
    static let calls = 2_000
    static let answerSeconds = 2.0
    /// Threads the process may gain while the calls are in flight: the `curl-multi` loop thread,
    /// plus slack for cooperative-pool and Dispatch workers that start lazily (2 cores here).
    /// A thread per call would be 2,000.
    static let maximumAddedThreads = 8
    /// libcurl keeps a receive buffer (16 KiB) and connection state per transfer, Swift a task and
    /// continuation: well under 100 KiB a call, so 2,000 calls stay under 200 MiB. A thread per
    /// call would reserve 2,000 stacks.
    static let maximumAddedRSS = 200 << 20

    func testTwoThousandCallsAreInFlightAtOnceOnAFewThreads() async throws {
        let files = Self.raiseFileLimit()
        XCTAssertGreaterThan(files, rlim_t(Self.calls + 200), "2,000 sockets need that many descriptors")
        let fake = try FakeProvidersProcess(arguments: ["--max-connections", "8192"])
        defer { fake.stop() }
        let client = CurlClient(configuration: HTTPClientConfiguration(
            connectTimeout: 20, requestTimeout: 60, maxIdleHandles: 4, maxTransfersInFlight: 4096))
        let provider = OpenAIProvider(baseURL: fake.origin + "/openai/v1", context: makeContext(client: client, retry: .none))
        let key = ProviderAPIKey(TestKeys.openAI)
        func chat(_ prompt: String) -> GenerationRequest {
            GenerationRequest(kind: .text, model: "gpt-4o-mini", prompt: prompt, outputDirectory: outputDirectory)
        }
        // One call first, so the loop thread and libcurl's one-time state exist before the baseline.
        guard case .finished = try await provider.submit(chat("warm up"), key: key) else { return XCTFail("warm-up did not finish") }
        let baseline = ProcessFigures.now()
        XCTAssertGreaterThan(baseline.threads, 0, "/proc/self/status is readable")
        XCTAssertGreaterThan(baseline.rss, 0)

        let peak = Mutex((threads: 0, rss: 0, inFlight: 0))
        let allInFlightAt = Mutex<Date?>(nil)
        let started = Date()
        let everyCall = Self.calls
        let sampler = Task {
            while !Task.isCancelled {
                let figures = ProcessFigures.now()
                let inFlight = client.loop.inFlight
                peak.withLock { $0 = (max($0.threads, figures.threads), max($0.rss, figures.rss), max($0.inFlight, inFlight)) }
                if inFlight == everyCall { allInFlightAt.withLock { $0 = $0 ?? Date() } }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        let slow = chat("Hello [fake:slow:\(Int(Self.answerSeconds))]")
        let succeeded = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<Self.calls {
                group.addTask {
                    guard case .finished(let output) = try? await provider.submit(slow, key: key) else { return false }
                    return output.text?.isEmpty == false
                }
            }
            var count = 0
            for await ok in group where ok { count += 1 }
            return count
        }
        let wall = Date().timeIntervalSince(started)
        sampler.cancel()
        _ = await sampler.value
        let (peakThreads, peakRSS, peakInFlight) = peak.withLock { $0 }
        let addedRSS = max(0, peakRSS - baseline.rss)
        let ramp = allInFlightAt.withLock { $0 }.map { $0.timeIntervalSince(started) } ?? -1
        print(String(format: "in-flight: %d calls answered after %.0f s each: %d succeeded in %.2f s wall (all in flight after %.2f s); threads %d before, peak %d; "
                     + "RSS %.1f MiB before, peak %.1f MiB (+%.1f MiB, %.1f KiB a call); peak in flight %d; file limit %d",
                     Self.calls, Self.answerSeconds, succeeded, wall, ramp, baseline.threads, peakThreads,
                     Double(baseline.rss) / 1_048_576, Double(peakRSS) / 1_048_576, Double(addedRSS) / 1_048_576,
                     Double(addedRSS) / 1024 / Double(Self.calls), peakInFlight, Int(files)))

        XCTAssertEqual(succeeded, Self.calls, "every call succeeds")
        XCTAssertEqual(peakInFlight, Self.calls, "all of them were in flight at the same time")
        XCTAssertLessThan(wall, Self.answerSeconds + 8, "about one answer's time, not 2,000 of them in turn")
        XCTAssertLessThanOrEqual(peakThreads - baseline.threads, Self.maximumAddedThreads, "an in-flight call is not a thread")
        XCTAssertLessThan(addedRSS, Self.maximumAddedRSS)
        XCTAssertEqual(client.loop.inFlight, 0)
    }

    /// Raises the soft limit on open files to the hard one; the limit now in force.
    static func raiseFileLimit() -> rlim_t {
        var files = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 else { return 0 }
        if files.rlim_cur < files.rlim_max {
            files.rlim_cur = files.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        }
        return files.rlim_cur
    }
}

/// This process's thread count and resident memory, from /proc/self/status.
struct ProcessFigures {
    let threads: Int
    let rss: Int

    static func now() -> ProcessFigures {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
        }
        return ProcessFigures(threads: field("Threads"), rss: field("VmRSS") * 1024)
    }
}
