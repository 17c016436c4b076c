import Domain
import Foundation
import Providers

/// `ffprobe` and `ffmpeg`, when installed: durations and video sizes the container headers do not
/// give simply, thumbnails and poster frames. Always on a work queue thread, never an HTTP one,
/// always with a time limit, with no shell (arguments are passed as they are; file names are the
/// server's own scratch paths, never client text).
struct MediaTools: Sendable {
    let ffprobe: String?
    let ffmpeg: String?
    let timeoutSeconds: Double

    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment, timeoutSeconds: Double = 20) -> MediaTools {
        let path = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        func find(_ name: String) -> String? {
            path.lazy.map { ToolLocator.path(of: name, in: $0) }.first { access($0, X_OK) == 0 }
        }
        return MediaTools(ffprobe: find("ffprobe"), ffmpeg: find("ffmpeg"), timeoutSeconds: timeoutSeconds)
    }

    /// Duration, and width and height of the first video stream, as ffprobe reports them.
    func probe(_ file: String, scratch: String) -> MediaMetadata? {
        guard let ffprobe else { return nil }
        let output = scratch + "/probe.json"
        guard Self.run(ffprobe, ["-v", "error", "-print_format", "json", "-show_entries", "format=duration:stream=codec_type,width,height",
                                 "-i", file], stdout: output, timeout: timeoutSeconds),
              let data = FileManager.default.contents(atPath: output), data.count < 1 << 20,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        var metadata = MediaMetadata()
        if let text = (object["format"] as? [String: Any])?["duration"] as? String, let seconds = Double(text), seconds.isFinite, seconds >= 0,
           seconds < 1e9 {
            metadata.durationMilliseconds = Int64((seconds * 1000).rounded())
        }
        if let streams = object["streams"] as? [[String: Any]],
           let video = streams.first(where: { $0["codec_type"] as? String == "video" }),
           let width = video["width"] as? Int, let height = video["height"] as? Int, width > 0, height > 0 {
            metadata.width = width
            metadata.height = height
        }
        return metadata
    }

    /// A JPEG at most 320 pixels wide: the image scaled, or a video's frame at one second (or its first).
    func thumbnail(_ file: String, kind: MediaKind, scratch: String) -> String? {
        guard let ffmpeg, kind == .image || kind == .video else { return nil }
        let output = scratch + "/thumbnail.jpg"
        var arguments = ["-v", "error", "-y"]
        if kind == .video { arguments += ["-ss", "1"] }
        arguments += ["-i", file, "-frames:v", "1", "-vf", "scale='min(320,iw)':-2", output]
        if Self.run(ffmpeg, arguments, stdout: nil, timeout: timeoutSeconds), FileManager.default.fileExists(atPath: output) { return output }
        // A video shorter than a second has no frame there: take the first.
        if kind == .video, Self.run(ffmpeg, ["-v", "error", "-y", "-i", file, "-frames:v", "1", "-vf", "scale='min(320,iw)':-2", output],
                                    stdout: nil, timeout: timeoutSeconds),
           FileManager.default.fileExists(atPath: output) { return output }
        return nil
    }

    /// Runs `executable` with `arguments`, stdout to `stdout` (or discarded), stderr discarded;
    /// true when it exited 0 within `timeout` seconds (it is killed otherwise).
    static func run(_ executable: String, _ arguments: [String], stdout: String?, timeout: Double) -> Bool {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environment: [String] = ["PATH=/usr/local/bin:/usr/bin:/bin"]
        let envp = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, executable, &actions, nil, argv, envp) == 0 else { return false }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1 && errno != EINTR { return false }
            if Date() >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                return false
            }
            usleep(10_000)
        }
        return (status & 0x7F) == 0 && (status >> 8) & 0xFF == 0
    }
}
