import CCurl

/// libcurl's global state must be initialised once, before the first handle. `curl_global_init`
/// is not thread-safe in older libcurls, so it runs in a `static let` initialiser (exactly once,
/// thread-safely) that every handle's creation goes through: a server that calls no provider never
/// loads OpenSSL's TLS configuration, libssh2 or the rest of libcurl's start (BENCHMARKS.md,
/// "Footprint"). The S3 transport keeps its own once-only call; two first calls can then meet,
/// which libcurl ≥ 7.84 built with atomics allows (`CURL_VERSION_THREADSAFE`, set in Debian
/// bookworm's 7.88).
public enum CurlRuntime {
    private static let initialised: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public static func initialise() {
        initialised
    }

    public static var version: String {
        String(cString: curl_version())
    }
}
