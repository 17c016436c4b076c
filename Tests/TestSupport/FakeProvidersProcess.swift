import Foundation

/// The built `fake-providers` executable, started on a free port for one test.
public final class FakeProvidersProcess: Sendable {
    public let child: ChildProcess
    public let port: Int
    public var origin: String { "http://127.0.0.1:\(port)" }

    public static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fake-providers").path
    }

    /// Starts it and waits (up to 10 s) for the port it prints first.
    public init(_ arguments: [String] = []) throws {
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

    /// Stops it with SIGTERM; its exit status (0 when it stopped cleanly).
    @discardableResult
    public func stop() -> Int32? {
        child.signal(SIGTERM)
        let status = child.wait(timeout: 5)
        try? FileManager.default.removeItem(atPath: child.outputPath)
        return status
    }
}
