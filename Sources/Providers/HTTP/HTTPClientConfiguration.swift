import Foundation

/// Limits for outbound calls. The defaults suit production; tests shrink them so a timeout test
/// takes a fraction of a second.
public struct HTTPClientConfiguration: Sendable {
    public var connectTimeout: Double
    /// Total time for an ordinary API call (chat completions can be slow, so minutes).
    public var requestTimeout: Double
    /// Total time for a streamed answer (a long answer streams for minutes; a stalled one is cut
    /// by `stallTimeout` first): the chat surface's own wait, 600 s.
    public var streamTimeout: Double
    /// Total time for a media download.
    public var downloadTimeout: Double
    /// A transfer slower than one byte per second for this long is abandoned (a stalled body).
    public var stallTimeout: Double
    /// Largest JSON or error body held in memory.
    public var maxResponseBytes: Int64
    /// gpt-image answers with base64 images inside JSON: up to 10 images of several MB each.
    public var maxInlineMediaResponseBytes: Int64
    /// Largest media file streamed to disk.
    public var maxDownloadBytes: Int64
    /// Idle easy handles kept for reuse; each keeps its own connection cache.
    public var maxIdleHandles: Int
    /// Transfers `CurlMultiLoop` runs at once (`PROVIDER_MAX_IN_FLIGHT`); callers beyond it wait,
    /// suspended. Each costs a socket and libcurl's buffers, so it stays well under the file limit.
    public var maxTransfersInFlight: Int
    public var userAgent: String

    public init(connectTimeout: Double = 10, requestTimeout: Double = 300, downloadTimeout: Double = 900,
                stallTimeout: Double = 60, streamTimeout: Double = 600, maxResponseBytes: Int64 = 16 << 20,
                maxInlineMediaResponseBytes: Int64 = 256 << 20, maxDownloadBytes: Int64 = 4 << 30,
                maxIdleHandles: Int = 16, maxTransfersInFlight: Int = 4096, userAgent: String = "MediaWorkspace/1.0") {
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.downloadTimeout = downloadTimeout
        self.stallTimeout = stallTimeout
        self.streamTimeout = streamTimeout
        self.maxResponseBytes = maxResponseBytes
        self.maxInlineMediaResponseBytes = maxInlineMediaResponseBytes
        self.maxDownloadBytes = maxDownloadBytes
        self.maxIdleHandles = maxIdleHandles
        self.maxTransfersInFlight = max(1, maxTransfersInFlight)
        self.userAgent = userAgent
    }
}
