import Domain
import Foundation

/// Claude models (providers.md §2.3 current ids) and their message parameters.
enum AnthropicCatalog {
    static let capabilities = ProviderCapabilities(provider: .anthropic, models: [
        model("claude-haiku-4-5", maxOutput: 64_000),
        model("claude-sonnet-4-5", maxOutput: 64_000),
        model("claude-sonnet-4-6", maxOutput: 128_000),
        model("claude-opus-4-5", maxOutput: 64_000),
        model("claude-opus-4-6", maxOutput: 128_000),
        model("claude-sonnet-5", maxOutput: 128_000),
        model("claude-opus-5", maxOutput: 128_000),
    ])

    /// The listed models plus every Claude model the price list prices (messages are the same for all).
    static func capabilities(priceList: PricingVersion?) -> ProviderCapabilities {
        let priced = priceList?.models(provider: ProviderID.anthropic.rawValue) ?? []
        return capabilities.adding(priced.filter { $0.impliedKinds == [.text] }.map {
            model($0.model, maxOutput: $0.maxOutputTokens ?? defaultMaxOutput)
        })
    }

    /// The smallest output ceiling among current Claude models, for an entry that states none.
    static let defaultMaxOutput = 64_000

    /// `max_tokens` is required by the API; the adapter sends this when the request has none.
    static let defaultMaxTokens = 1024

    static func model(_ id: String, maxOutput: Int) -> ModelCapability {
        ModelCapability(id: id, kind: .text, parameters: [
            ParameterSpec(.systemPrompt, .text(maxLength: 200_000)),
            ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: maxOutput), default: String(defaultMaxTokens)),
            ParameterSpec(.temperature, .decimalRange(min: 0, max: 1)),
        ])
    }
}
