import CCurl
import Synchronization

/// An easy handle that may move between threads (never used by two at once).
struct CurlHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// Idle easy handles kept for reuse. Each handle carries its own connection cache, so taking
/// the most recently returned handle usually finds a live keep-alive connection to the same
/// host. This avoids a CURLSH share and its lock callbacks while still reusing connections
/// across calls and threads.
final class CurlHandlePool: Sendable {
    private let idle = Mutex<[CurlHandle]>([])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    deinit {
        idle.withLock { handles in
            for handle in handles { curl_easy_cleanup(handle.raw) }
            handles.removeAll()
        }
    }

    func checkout() -> CurlHandle? {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        CurlRuntime.initialise()
        return curl_easy_init().map(CurlHandle.init)
    }

    /// Options are reset (connections and caches stay) so the next user starts clean.
    func checkin(_ handle: CurlHandle) {
        curl_easy_reset(handle.raw)
        let kept = idle.withLock { handles -> Bool in
            guard handles.count < capacity else { return false }
            handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.raw) }
    }
}
