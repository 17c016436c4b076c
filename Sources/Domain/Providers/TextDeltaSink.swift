import Foundation

/// Where a streaming text call delivers its answer as the provider sends it: each piece of text
/// (`delta`), then once the provider's stream has ended, its finish reason (`end`). The calls come
/// on the thread that reads the provider's answer, in order; they must return quickly.
public struct TextDeltaSink: Sendable {
    public let delta: @Sendable (String) -> Void
    public let end: @Sendable (_ finishReason: String?) -> Void

    public init(delta: @escaping @Sendable (String) -> Void, end: @escaping @Sendable (String?) -> Void) {
        self.delta = delta
        self.end = end
    }
}

extension MediaProvider {
    /// A text generation whose answer is also delivered to `sink` piece by piece as it arrives.
    /// The result is the same finished output `submit` returns (text, usage, finish reason,
    /// request id), so settlement does not depend on streaming. Adapters without a streaming call
    /// answer with `submit` and deliver the finished text as one piece.
    public func submitStreaming(_ request: GenerationRequest, key: ProviderAPIKey?,
                                sink: TextDeltaSink) async throws(ProviderError) -> ProviderResult {
        let result = try await submit(request, key: key)
        if case .finished(let output) = result {
            if let text = output.text, !text.isEmpty { sink.delta(text) }
            sink.end(output.finishReason)
        }
        return result
    }
}
