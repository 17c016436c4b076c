import Foundation

/// Every provider transfer in flight and every HTTP connection holds a file descriptor, and the
/// usual soft limit (1,024) is below what `PROVIDER_MAX_IN_FLIGHT` and `HTTP_MAX_CONNECTIONS`
/// allow. At start-up the soft limit is raised to the hard one; if even that is short, a warning
/// says so (a transfer past the limit fails like a refused connection, which the router retries
/// elsewhere, rather than hanging).
enum FileDescriptorLimit {
    /// Raises the soft limit to the hard limit; the soft limit now in force (0 when unknown).
    @discardableResult
    static func raiseToHard() -> UInt64 {
        var files = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 else { return 0 }
        if files.rlim_cur < files.rlim_max {
            var raised = files
            raised.rlim_cur = files.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { files = raised }
        }
        return UInt64(files.rlim_cur)
    }

    /// Descriptors the configuration may use at once, with room for the pool, logs and files.
    static func needed(by config: AppConfig) -> UInt64 {
        UInt64(config.providerMaxInFlight) + UInt64(config.maximumConnections) + 256
    }

    static func prepare(for config: AppConfig, logger: Logger) {
        let limit = raiseToHard()
        let needed = needed(by: config)
        if limit > 0 && limit < needed {
            logger.warn("the open-file limit is below what PROVIDER_MAX_IN_FLIGHT and HTTP_MAX_CONNECTIONS allow",
                        ["limit": .int(Int(clamping: limit)), "needed": .int(Int(clamping: needed))])
        }
    }
}
