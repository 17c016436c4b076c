import Foundation

extension QuoteRequest {
    /// The quote's parameters that `model` cannot take, named by their wire paths, each message
    /// listing what the model allows. The names, allowed values and defaults are the catalog's
    /// (`GET /v1/providers`), which the adapter checks the same way before anything is sent, so
    /// a quote admits exactly what the generation can run.
    public func unsupportedParameters(for model: ModelCapability) -> [FieldError] {
        var errors: [FieldError] = []
        for name in parameters.setNames {
            let field = "parameters.\(name.rawValue)"
            guard let spec = model.parameter(name) else {
                let accepted = model.parameters.map(\.name.rawValue)
                errors.append(FieldError(field: field, code: "unsupported_parameter",
                                         message: "\(field) is not accepted by model \(model.id); it takes "
                                            + (accepted.isEmpty ? "no parameters" : accepted.joined(separator: ", "))))
                continue
            }
            if let value = parameters.value(of: name), let problem = spec.allowed.problem(with: value) {
                errors.append(FieldError(field: field, code: "unsupported_value", message: "\(field) \(problem) for model \(model.id)"))
            }
        }
        return errors
    }

    /// What is priced for `model`: the request's parameters with the model's defaults for the
    /// ones it leaves out, as the adapter will send them.
    func estimateRequest(for model: ModelCapability?) -> EstimateRequest {
        let resolved = model?.withDefaults(parameters) ?? parameters
        switch kind {
        case .text:
            return .text(input: .text(prompt), maxOutputTokens: resolved.maxOutputTokens)
        case .image:
            return .images(count: resolved.count ?? 1, size: resolved.size, quality: resolved.quality,
                           resolution: resolved.resolution ?? resolved.aspectRatio.flatMap(Self.resolutionTier(ofPixelRatio:)))
        case .video, .imageToVideo:
            return .video(seconds: Decimal(resolved.durationSeconds ?? Self.assumedVideoSeconds), resolution: resolved.resolution,
                          audio: resolved.audio, count: resolved.count ?? 1)
        case .audio:
            return .speech(text: prompt)
        }
    }

    /// Seconds assumed for a video model that declares no duration default.
    static let assumedVideoSeconds = 5

    /// The price tier a pixel ratio (`1920:1080`, Runway's form) names: an image whose shorter
    /// side is at most 720 pixels is `720p`, a larger one `1080p`. Nil for proportions such as `16:9`.
    static func resolutionTier(ofPixelRatio ratio: String) -> String? {
        let sides = ratio.split(separator: ":", omittingEmptySubsequences: false)
        guard sides.count == 2, sides.allSatisfy({ $0.count <= 5 && $0.allSatisfy(\.isASCII) }),
              let width = Int(sides[0]), let height = Int(sides[1]), min(width, height) >= 100 else { return nil }
        return min(width, height) <= 720 ? "720p" : "1080p"
    }
}
