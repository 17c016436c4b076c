import Foundation

/// Runs an external tool (espeak-ng, ffmpeg) with posix_spawn and waits for it, with a time
/// limit. No shell is involved, so prompt text never meets shell parsing. Foundation's
/// `Process` is avoided: its `waitUntilExit` proved unreliable here (TestSupport/ChildProcess).
enum ProcessRunner {
    struct Outcome {
        let status: Int32
        /// The tool's stdout and stderr, truncated, for error messages.
        let output: String
        let timedOut: Bool
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Double) -> Outcome {
        let logPath = NSTemporaryDirectory() + "mw-tool-\(UUID().lowercasedString).log"
        defer { unlink(logPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment = ProcessInfo.processInfo.environment
        let passed = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"].compactMap { name in
            environment[name].map { "\(name)=\($0)" }
        }
        let envp = passed.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else {
            return Outcome(status: -1, output: "cannot start \(executable): \(String(cString: strerror(spawned)))", timedOut: false)
        }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var timedOut = false
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1 && errno != EINTR { break }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                timedOut = true
                break
            }
            usleep(5_000)
        }
        let exitCode = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return Outcome(status: timedOut ? -1 : exitCode, output: String(log.suffix(2000)), timedOut: timedOut)
    }
}

/// Finds executables on a PATH, so a missing tool means a missing capability.
public struct ToolLocator: Sendable {
    let searchPath: [String]

    init(environment: [String: String]) {
        searchPath = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
    }

    func find(_ name: String) -> String? {
        for directory in searchPath where !directory.isEmpty {
            let candidate = Self.path(of: name, in: directory)
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// `directory/name`, one slash between them, as `NSString.appendingPathComponent` joins them
    /// (which bridged to NSString at every start-up for this).
    public static func path(of name: String, in directory: String) -> String {
        directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
