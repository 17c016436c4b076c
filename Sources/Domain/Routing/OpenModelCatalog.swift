import Foundation

/// Finds the capability of a model a provider serves without listing it (OpenRouter takes any
/// `vendor/model`, FAL's queue any endpoint id); nil where the provider does not serve it.
public typealias UnlistedModelLookup = @Sendable (ProviderID, String, MediaKind) -> ModelCapability?

extension Array where Element == ProviderCapabilities {
    /// The catalog with `model` added for every provider that serves it unlisted, so a request
    /// naming such a model is routed and quoted like a listed one (unpriced unless the price list
    /// knows it).
    public func including(model: String?, kind: MediaKind, lookup: UnlistedModelLookup?) -> [ProviderCapabilities] {
        guard let model, let lookup else { return self }
        return map { capabilities in
            guard capabilities.model(model, kind: kind) == nil, let unlisted = lookup(capabilities.provider, model, kind) else {
                return capabilities
            }
            return capabilities.adding([unlisted])
        }
    }
}
