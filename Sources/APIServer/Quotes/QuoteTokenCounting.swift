import Domain
import Foundation

/// A quote's input-token counter: Claude's prompt counted by Anthropic's own `count_tokens` when
/// the caller holds a usable key (cached per user, model and text; the call has a short time limit
/// and falls back silently), every other model by the server's counter. Used only on the provider work queue.
struct QuoteTokenCounting: TokenCounting {
    let base: any TokenCounting
    let anthropic: AnthropicTokenCounts
    let identity: AuthenticatedIdentity

    func countTokens(_ text: String, provider: String, model: String) -> TokenCount {
        let counted = base.countTokens(text, provider: provider, model: model)
        guard provider == ProviderID.anthropic.rawValue, let provided = anthropic.count(text, model: model, for: identity) else {
            return counted
        }
        return TokenCount(count: provided, kind: .estimated, modelEncoding: counted.modelEncoding, countedWith: AnthropicTokenCounts.countedWith)
    }
}
