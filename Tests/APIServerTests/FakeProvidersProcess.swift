import Foundation
import TestSupport

/// One `fake-providers` process for a test: started on a free port (it prints the port it took),
/// its origin and every provider's base URL, its control endpoints, and stopped with SIGTERM.
final class FakeProvidersProcess {
    let port: Int
    private let child: ChildProcess

    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fake-providers").path
    }

    /// `arguments` after `--port 0`, e.g. `["--slow-seconds", "5"]`.
    init(arguments: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestSupportError("\(Self.binary) is missing: build it with `swift build` (product fake-providers)")
        }
        let child = try ChildProcess(Self.binary, ["--port", "0"] + arguments)
        var port = 0
        let deadline = Date().addingTimeInterval(10)
        while port == 0 && Date() < deadline {
            if let line = child.output.split(separator: "\n").first, line.hasPrefix("listening 127.0.0.1:"),
               let number = Int(line.dropFirst("listening 127.0.0.1:".count)) {
                port = number
            } else {
                usleep(5_000)
            }
        }
        guard port > 0 else {
            child.signal(SIGTERM)
            _ = child.wait(timeout: 5)
            throw TestSupportError("fake-providers printed no port: \(child.output)")
        }
        self.child = child
        self.port = port
    }

    var origin: String { "http://127.0.0.1:\(port)" }

    /// Every provider's base URL pointed at this fake (TestServer environment overrides).
    var baseURLs: [String: String] {
        ["OPENAI_BASE_URL": origin + "/openai/v1", "ANTHROPIC_BASE_URL": origin + "/anthropic",
         "OPENROUTER_BASE_URL": origin + "/openrouter/api/v1", "ELEVENLABS_BASE_URL": origin + "/elevenlabs",
         "RUNWAY_BASE_URL": origin + "/runway", "GEMINI_BASE_URL": origin + "/veo/v1beta",
         "FAL_QUEUE_BASE_URL": origin + "/fal/queue", "FAL_API_BASE_URL": origin + "/fal/api/v1"]
    }

    var output: String { child.output }

    func stop() {
        child.signal(SIGTERM)
        _ = child.wait(timeout: 5)
        try? FileManager.default.removeItem(atPath: child.outputPath)
    }
}
