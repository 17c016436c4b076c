import Foundation

/// What is about to be asked of a provider, as far as its price depends on it.
public enum EstimateRequest: Sendable, Hashable {
    /// Chat / completion. The output side is the worst case: every allowed output token.
    case text(input: TextInput, maxOutputTokens: Int?)
    /// `count` images. `size` is `WIDTHxHEIGHT` or one of FAL's presets (`landscape_4_3` …);
    /// `auto` for size or quality quotes the dearest option.
    case images(count: Int, size: String?, quality: String?, resolution: String?)
    /// `count` clips of `seconds` each (Veo's `sampleCount`); `audio` where it changes the price.
    case video(seconds: Decimal, resolution: String?, audio: Bool?, count: Int)
    /// Text to speech, priced by characters (Unicode scalars).
    case speech(text: String)
}

public enum TextInput: Sendable, Hashable {
    case text(String)
    /// Chat message contents; each message adds OpenAI's framing (3 tokens), plus 3 for the reply.
    case messages([String])
    /// Already counted, e.g. by Anthropic's free `count_tokens`.
    case tokens(Int, kind: TokenCountKind)
}

public enum EstimateBasis: String, Codable, Sendable, Hashable {
    /// Text: counted input, and output at the maximum the request (or the model) allows.
    case worstCase = "worst_case"
    /// Images, video, speech: the quantities asked for.
    case requested
}

public struct CostEstimate: Codable, Sendable, Hashable {
    /// Priced with estimate rows; `unpriced` (with `missing`) when a price is unknown.
    public var breakdown: CostBreakdown
    public var basis: EstimateBasis
    /// For text: how the input was counted, and whether exactly.
    public var inputTokens: TokenCount?
    /// For text: the output tokens assumed.
    public var maxOutputTokens: Int?
    /// Everything assumed on the way, in words (for quotes shown to people).
    public var assumptions: [String]
}

/// Quotes a request before it runs, from the same prices that will charge it.
public struct CostEstimator: Sendable {
    /// OpenAI's published framing for chat models: 3 tokens per message and 3 to prime the reply.
    public static let tokensPerMessage = 3
    public static let tokensForReply = 3

    public let pricing: PricingVersion
    public let tokenCounter: any TokenCounting

    public init(pricing: PricingVersion, tokenCounter: any TokenCounting) {
        self.pricing = pricing
        self.tokenCounter = tokenCounter
    }

    public func estimate(_ request: EstimateRequest, provider: String, model: String) -> CostEstimate {
        switch request {
        case .text(let input, let maxOutputTokens):
            return estimateText(input, maxOutputTokens: maxOutputTokens, provider: provider, model: model)
        case .images(let count, let size, let quality, let resolution):
            return estimateImages(count: count, size: size, quality: quality, resolution: resolution, provider: provider, model: model)
        case .video(let seconds, let resolution, let audio, let count):
            let usage = Usage(video: [VideoQuantity(seconds: seconds, resolution: resolution, audio: audio.map { $0 ? "on" : "off" }, count: count)])
            return finish(usage, provider: provider, model: model, basis: .requested, assumptions: [])
        case .speech(let text):
            let usage = Usage(characters: text.unicodeScalars.count)
            return finish(usage, provider: provider, model: model, basis: .requested,
                          assumptions: ["\(usage.characters) characters (Unicode scalars)"])
        }
    }

    func estimateText(_ input: TextInput, maxOutputTokens: Int?, provider: String, model: String) -> CostEstimate {
        var assumptions: [String] = []
        let counted: TokenCount
        switch input {
        case .text(let text):
            counted = tokenCounter.countTokens(text, provider: provider, model: model)
        case .messages(let contents):
            // Counts are bounded by the text's length, but a sum over a request's messages is
            // still added with overflow reported (saturating) rather than trusted.
            var total = tokenCounter.countTokens("", provider: provider, model: model)
            let framing = contents.count.multipliedReportingOverflow(by: Self.tokensPerMessage)
            total.count = Usage.saturatingSum(contents.map { tokenCounter.countTokens($0, provider: provider, model: model).count }
                                              + [total.count, framing.overflow ? Int.max : framing.partialValue, Self.tokensForReply])
            counted = total
            assumptions.append("message framing: \(Self.tokensPerMessage) tokens per message + \(Self.tokensForReply) for the reply")
        case .tokens(let count, let kind):
            counted = TokenCount(count: count, kind: kind, modelEncoding: "given", countedWith: "given")
        }
        if counted.kind == .estimated {
            assumptions.append("input tokens estimated with \(counted.countedWith) (the model uses \(counted.modelEncoding))")
        }
        let entry = pricing.model(provider: provider, model: model)
        let output = maxOutputTokens ?? entry?.maxOutputTokens
        if maxOutputTokens == nil, let output {
            assumptions.append("output at the model's maximum of \(output) tokens")
        } else if let output {
            assumptions.append("output at the requested maximum of \(output) tokens")
        }
        var estimate = finish(
            Usage(inputTokens: counted.count, outputTokens: output ?? 0), provider: provider, model: model,
            basis: .worstCase, assumptions: assumptions
        )
        estimate.inputTokens = counted
        estimate.maxOutputTokens = output
        if output == nil, entry != nil, estimate.breakdown.status != .free {
            estimate.breakdown.missing.append(MissingPrice(unit: .outputToken, reason: .maxOutputTokensUnknown))
            estimate.breakdown.status = .unpriced
            estimate.breakdown.total = nil
        }
        return estimate
    }

    func estimateImages(count: Int, size: String?, quality: String?, resolution: String?, provider: String, model: String) -> CostEstimate {
        var assumptions: [String] = []
        let perMegapixel = !pricing.rows(provider: provider, model: model, unit: .megapixel, purpose: .estimate).isEmpty
        if perMegapixel {
            guard let size, let pixels = Self.pixels(of: size) else {
                var estimate = finish(Usage(), provider: provider, model: model, basis: .requested, assumptions: [])
                estimate.breakdown.missing = [MissingPrice(unit: .megapixel, reason: .missingDimension, missingKeys: [.size])]
                estimate.breakdown.status = .unpriced
                estimate.breakdown.total = nil
                return estimate
            }
            // pixels(of:) bounds each side, so the product always fits; the guard keeps that a local fact.
            guard let each = Megapixels.billable(width: pixels.width, height: pixels.height) else {
                var estimate = finish(Usage(), provider: provider, model: model, basis: .requested, assumptions: [])
                estimate.breakdown.missing = [MissingPrice(unit: .megapixel, reason: .invalidUsage)]
                estimate.breakdown.status = .unpriced
                estimate.breakdown.total = nil
                return estimate
            }
            assumptions.append("\(size) = \(pixels.width)x\(pixels.height) px, billed as \(each) MP per image (rounded up, 1 MP = 1,048,576 px)")
            return finish(Usage(megapixels: Decimal(each) * Decimal(count)), provider: provider, model: model, basis: .requested,
                          assumptions: assumptions)
        }
        var dimension = PriceDimension(size: size, quality: quality, resolution: resolution)
        dimension = dearest(for: dimension, provider: provider, model: model, assumptions: &assumptions)
        let usage = Usage(images: [ImageQuantity(count: count, size: dimension.size, quality: dimension.quality, resolution: dimension.resolution)])
        return finish(usage, provider: provider, model: model, basis: .requested, assumptions: assumptions)
    }

    /// Replaces `auto` values with the ones of the dearest matching image price.
    func dearest(for dimension: PriceDimension, provider: String, model: String, assumptions: inout [String]) -> PriceDimension {
        let autoKeys = PriceDimension.Key.allCases.filter { dimension[$0] == "auto" }
        guard !autoKeys.isEmpty else { return dimension }
        var fixed = dimension
        for key in autoKeys { fixed[key] = nil }
        let candidates = pricing.rows(provider: provider, model: model, unit: .image, purpose: .estimate)
            .filter { row in PriceDimension.Key.allCases.allSatisfy { fixed[$0] == nil || row.dimension[$0] == nil || row.dimension[$0] == fixed[$0] } }
        guard let dearest = candidates.max(by: { $0.price.amount / Decimal($0.per) < $1.price.amount / Decimal($1.per) }) else {
            return dimension
        }
        var result = dimension
        for key in autoKeys { result[key] = dearest.dimension[key] ?? "auto" }
        assumptions.append("\(autoKeys.map(\.rawValue).joined(separator: " and ")) auto: quoted at the dearest option (\(dearest.dimension))")
        return result
    }

    func finish(_ usage: Usage, provider: String, model: String, basis: EstimateBasis, assumptions: [String]) -> CostEstimate {
        CostEstimate(
            breakdown: CostCalculator.cost(of: usage, provider: provider, model: model, pricing: pricing, purpose: .estimate),
            basis: basis, inputTokens: nil, maxOutputTokens: nil, assumptions: assumptions
        )
    }

    /// The longest side any size may name, in pixels: above every provider's largest output (4K
    /// video is 3840), far below where `width × height` could overflow.
    public static let maximumSidePixels = 16_384

    /// FAL's `image_size` presets (providers.md §7.3), or `WIDTHxHEIGHT` with each side in
    /// 1...`maximumSidePixels`; nil for anything else.
    public static func pixels(of size: String) -> (width: Int, height: Int)? {
        let presets: [String: (Int, Int)] = [
            "square_hd": (1024, 1024), "square": (512, 512), "portrait_4_3": (768, 1024),
            "portrait_16_9": (576, 1024), "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576),
        ]
        if let preset = presets[size] { return preset }
        return PixelSize.parse(size, maximumSide: maximumSidePixels)
    }
}
