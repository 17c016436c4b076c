import CCurl

/// libcurl's global state must be initialised once, before any thread creates a handle.
/// `curl_global_init` is not thread-safe, so the composition root calls this at start-up.
public enum CurlRuntime {
    public static func initialise() {
        _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    public static var version: String {
        String(cString: curl_version())
    }
}
