import Domain
import Foundation

/// Veo on the Gemini API (providers.md §6.1). Each model serves text-to-video and
/// image-to-video (first frame as inline bytes).
enum VeoCatalog {
    static let models: [(id: String, resolutions: [String])] = [
        ("veo-3.1-generate-001", ["720p", "1080p", "4k"]),
        ("veo-3.1-fast-generate-001", ["720p", "1080p", "4k"]),
        ("veo-3.1-lite-generate-001", ["720p", "1080p"]),
    ]

    static let capabilities = ProviderCapabilities(provider: .veo, models: models.flatMap { model in
        capabilities(id: model.id, resolutions: model.resolutions)
    }, notes: ["1080p and 4k require duration_seconds 8", "Veo operations cannot be cancelled on the Gemini API"])

    static func capabilities(id: String, resolutions: [String]) -> [ModelCapability] {
        [MediaKind.video, .imageToVideo].map { kind in
            var parameters = [
                ParameterSpec(.aspectRatio, .oneOf(["16:9", "9:16"]), default: "16:9"),
                ParameterSpec(.resolution, .oneOf(resolutions), default: "720p"),
                ParameterSpec(.durationSeconds, .integers([4, 6, 8]), default: "8"),
                ParameterSpec(.negativePrompt, .text(maxLength: 2000)),
                ParameterSpec(.count, .integerRange(min: 1, max: 4), default: "1"),
            ]
            if kind == .imageToVideo { parameters.append(ParameterSpec(.inputImage, .image, required: true)) }
            return ModelCapability(id: id, kind: kind, parameters: parameters, isAsynchronous: true)
        }
    }

    /// The listed models plus every Veo model the price list prices per second (preview ids
    /// included), offering the resolutions it has prices for (720p when its price is flat).
    static func capabilities(priceList: PricingVersion?) -> ProviderCapabilities {
        let priced = priceList?.models(provider: ProviderID.veo.rawValue) ?? []
        // The id goes into the URL path: only Google's model-id characters.
        let wellFormed = priced.filter { model in
            !model.model.isEmpty && model.model.utf8.count <= 100
                && model.model.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "-.".contains($0) }
        }
        return capabilities.adding(wellFormed.filter { $0.impliedKinds == [.video] }.flatMap { model in
            let named = Set(model.prices.compactMap(\.dimension.resolution)).subtracting([PriceDimension.anyOther])
            let resolutions = ["720p", "1080p", "4k"].filter { named.isEmpty ? $0 == "720p" : named.contains($0) }
            return capabilities(id: model.model, resolutions: resolutions.isEmpty ? ["720p"] : resolutions)
        })
    }

    /// Official samples poll every 10 s; generation takes 11 s to 6 min (§6.2).
    static let pollInterval: Double = 10
}
