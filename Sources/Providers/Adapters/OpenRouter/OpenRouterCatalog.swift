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

    /// The capability for `id`: listed, or generic for any well-formed `vendor/model[:variant]`.
    static func capabilities(including id: String) -> ProviderCapabilities {
        let parts = id.split(separator: "/")
        guard !listed.contains(id), parts.count == 2, parts.allSatisfy({ !$0.isEmpty }),
              id.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:".contains($0) }) else { return capabilities }
        return ProviderCapabilities(provider: .openrouter, models: capabilities.models + [model(id)], notes: capabilities.notes)
    }
}
