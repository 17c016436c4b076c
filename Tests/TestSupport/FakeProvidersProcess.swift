import Foundation

/// One `fake-providers` process for a test: started on a free port (it prints the port it took),
/// its origin and every provider's base URL pointed at it, and stopped with SIGTERM.
public final class FakeProvidersProcess: Sendable {
    public let child: ChildProcess
    public let port: Int
    public var origin: String { "http://127.0.0.1:\(port)" }

    public static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fake-providers").path
    }

    /// Starts it with `arguments` after `--port 0` (e.g. `["--slow-seconds", "5"]`) and waits
    /// (up to 10 s) for the port it prints first.
    public init(arguments: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestSupportError("\(Self.binary) is missing: build it with `swift build` (product fake-providers)")
        }
        let child = try ChildProcess(Self.binary, ["--port", "0"] + arguments)
        let prefix = "listening 127.0.0.1:"
        let deadline = Date().addingTimeInterval(10)
        var port = 0
        while port == 0 && Date() < deadline {
            if let line = child.output.split(separator: "\n").first, line.hasPrefix(prefix), let number = Int(line.dropFirst(prefix.count)) {
                port = number
            } else {
                usleep(5_000)
            }
        }
        guard port > 0 else {
            child.signal(SIGKILL)
            _ = child.wait(timeout: 5)
            throw TestSupportError("fake-providers printed no port: \(child.output)")
        }
        self.child = child
        self.port = port
    }

    /// Every provider's base URL pointed at this fake (TestServer environment overrides).
    public var baseURLs: [String: String] {
        ["OPENAI_BASE_URL": origin + "/openai/v1", "ANTHROPIC_BASE_URL": origin + "/anthropic",
         "OPENROUTER_BASE_URL": origin + "/openrouter/api/v1", "ELEVENLABS_BASE_URL": origin + "/elevenlabs",
         "RUNWAY_BASE_URL": origin + "/runway", "GEMINI_BASE_URL": origin + "/veo/v1beta",
         "FAL_QUEUE_BASE_URL": origin + "/fal/queue", "FAL_API_BASE_URL": origin + "/fal/api/v1"]
    }

    public var output: String { child.output }

    /// Stops it with SIGTERM; its exit status (0 when it stopped cleanly).
    @discardableResult
    public func stop() -> Int32? {
        child.signal(SIGTERM)
        let status = child.wait(timeout: 5)
        try? FileManager.default.removeItem(atPath: child.outputPath)
        return status
    }
}
