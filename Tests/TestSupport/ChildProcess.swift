import Foundation

/// A child process started with posix_spawn and reaped with waitpid.
///
/// Foundation's `Process.waitUntilExit` never returned for `pg_ctl start` here (the daemon it
/// leaves behind keeps the run loop's watch alive), so tests spawn and wait with the plain calls.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let outputPath: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments`; stdout and stderr go to `outputPath`, stdin is /dev/null.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, outputPath: String? = nil) throws {
        self.outputPath = outputPath ?? NSTemporaryDirectory() + "mw-child-\(UUID().uuidString).log"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, self.outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, env)
        guard result == 0 else { throw TestSupportError("posix_spawn \(executable) failed: \(String(cString: strerror(result)))") }
        pid = child
    }

    /// Waits for the child to exit and returns its exit status (128 + signal if it was killed).
    @discardableResult
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let code = Self.exitCode(fromWaitStatus: status)
        exitStatus = code
        return code
    }

    /// Waits up to `timeout` seconds; nil if the child is still running.
    public func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                let code = Self.exitCode(fromWaitStatus: status)
                exitStatus = code
                return code
            }
            usleep(10_000)
        }
        return nil
    }

    /// The exit status, or 128 + the signal number when the child was killed (as shells report it).
    private static func exitCode(fromWaitStatus status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Runs a command to completion; throws with its output when it exits non-zero.
    public static func run(_ executable: String, _ arguments: [String]) throws {
        let child = try ChildProcess(executable, arguments)
        defer { try? FileManager.default.removeItem(atPath: child.outputPath) }
        let status = child.wait()
        guard status == 0 else {
            throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) exited \(status): \(child.output)")
        }
    }
}
