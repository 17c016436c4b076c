import Domain
import Foundation

/// OpenRouter routes to hundreds of models; these are listed for the catalog, and any other
/// `vendor/model` id is accepted with the same parameters (providers.md §3.1).
enum OpenRouterCatalog {
    static let listed = ["openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-5", "anthropic/claude-sonnet-4.5",
                         "anthropic/claude-haiku-4.5", "google/gemini-2.5-flash", "meta-llama/llama-3.3-70b-instruct"]

    static let capabilities = ProviderCapabilities(
        provider: .openrouter, models: listed.map(model),
        notes: ["any OpenRouter model id of the form vendor/model is accepted; the listed ones are examples"])

    static func model(_ id: String) -> ModelCapability {
        ModelCapability(id: id, kind: .text, parameters: [
            ParameterSpec(.systemPrompt, .text(maxLength: 400_000)),
            ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: 200_000)),
            ParameterSpec(.temperature, .decimalRange(min: 0, max: 2)),
            ParameterSpec(.seed, .integerRange(min: 0, max: Int(Int32.max))),
        ])
    }

    /// The listed models plus the OpenRouter models the price list knows.
    static func capabilities(priceList: PricingVersion?) -> ProviderCapabilities {
        let priced = priceList?.models(provider: ProviderID.openrouter.rawValue) ?? []
        return capabilities.adding(priced.filter { $0.impliedKinds == [.text] || $0.mode == .providerReported && $0.prices.isEmpty }
            .map { model($0.model) })
    }

    /// The capability for `id`: listed, or generic for any well-formed `vendor/model[:variant]`.
    static func capabilities(including id: String) -> ProviderCapabilities {
        guard !listed.contains(id), isModelID(id) else { return capabilities }
        return ProviderCapabilities(provider: .openrouter, models: capabilities.models + [model(id)], notes: capabilities.notes)
    }

    /// `vendor/model[:variant]` with OpenRouter's characters.
    static func isModelID(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty } && id.utf8.count <= 200
            && id.allSatisfy { $0.isLetter || $0.isNumber || "-_./:".contains($0) }
    }
}
