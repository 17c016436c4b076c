import Foundation

/// What a price list says a model makes: LiteLLM's `mode` (chat, image_generation,
/// video_generation, audio_speech) becomes the units its prices are in, so the units tell it back.
extension PricedModel {
    /// The media kinds this model's prices imply, in `MediaKind` order; empty for a `*` entry or a
    /// model without prices. Image-to-video is not told apart from video here: adapters decide.
    public var impliedKinds: [MediaKind] {
        guard model != "*" else { return [] }
        let units = Set(prices.map(\.unit))
        var kinds: Set<MediaKind> = []
        if !units.isDisjoint(with: [.image, .imageOutputToken, .megapixel]) { kinds.insert(.image) }
        if units.contains(.videoSecond) { kinds.insert(.video) }
        if !units.isDisjoint(with: [.characters1k, .audioOutputToken]) { kinds.insert(.audio) }
        if units.contains(.outputToken), kinds.isEmpty { kinds.insert(.text) }
        return MediaKind.allCases.filter(kinds.contains)
    }
}

extension PricingVersion {
    /// The provider's own model entries (not its `*` entry), in model order.
    public func models(provider: String) -> [PricedModel] {
        models.filter { $0.provider == provider && $0.model != "*" }
    }
}
