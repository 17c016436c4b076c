import Glibc

/// The processors this process may use, by the rules of Foundation's
/// `ProcessInfo.activeProcessorCount` on Linux: a cgroup v1 CPU quota (rounded up), else the first
/// range of a cgroup v1 cpuset, else the online processors. Read with plain POSIX calls: Foundation's
/// reads the files through `URL` and `Data`, whose code then stayed resident in every server for
/// one number read at start-up (BENCHMARKS.md, "Footprint"). `ProcessorCountTests` compares the two.
enum ProcessorCount {
    static var active: Int {
        if let quota = quota(quotaPath: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", periodPath: "/sys/fs/cgroup/cpu/cpu.cfs_period_us") {
            return quota
        }
        if let cpus = cpuset("/sys/fs/cgroup/cpuset/cpuset.cpus") { return cpus }
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// ⌈quota / period⌉ when both are positive integers.
    static func quota(quotaPath: String, periodPath: String) -> Int? {
        guard let quota = firstLine(quotaPath).flatMap({ Int($0) }), quota > 0,
              let period = firstLine(periodPath).flatMap({ Int($0) }), period > 0
        else { return nil }
        return (quota - 1 + period) / period
    }

    /// The size of the first range of a cpuset list such as `0-3,8-11` (4), or of a single id (1).
    static func cpuset(_ path: String) -> Int? {
        guard let line = firstLine(path), let range = line.split(separator: ",").first else { return nil }
        let ends = range.split(separator: "-", maxSplits: 1)
        guard let first = ends.first.flatMap({ Int($0, radix: 10) }), let last = ends.last.flatMap({ Int($0, radix: 10) }),
              last >= first
        else { return nil }
        return 1 + last - first
    }

    /// The file's text up to its first newline (nil when it cannot be read or is not UTF-8).
    static func firstLine(_ path: String) -> Substring? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return text.split(separator: "\n").first ?? ""
    }
}
