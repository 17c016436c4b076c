/// Deferred responses: a route whose answer needs slow work (a provider call) must not hold an
/// HTTP thread while it waits. Its handler checks what it can at once and returns the work; the
/// application queues it on a `WorkQueue`, the transport suspends the connection meanwhile, and
/// the finished response gets the same headers, metrics and log line as any other.

/// A handler whose answer needs slow work (a provider call): it checks what it can at once and
/// returns the work, which runs on the work's queue while the connection waits suspended.
typealias DeferringHandler = @Sendable (HTTPRequest) throws -> DeferredWork

/// Work a deferring handler hands over. `run` produces the response on one of `queue`'s threads;
/// `finally` runs exactly once afterwards, or at once when the queue refuses the work, to give
/// back what the handler took (a per-user slot).
struct DeferredWork: Sendable {
    let queue: WorkQueue
    let run: @Sendable () throws -> HTTPResponse
    var finally: @Sendable () -> Void = {}
}

/// How the transport lets a request wait for a deferred answer without holding a thread.
protocol ResponseSuspension: Sendable {
    /// Called on the request's own thread, before the work is queued.
    func suspend()
    /// Called exactly once, from the work queue's thread, with the finished response.
    func resume(with response: HTTPResponse)
}
