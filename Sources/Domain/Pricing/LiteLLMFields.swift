import Foundation

/// Which LiteLLM field holds which of our prices. The names are LiteLLM's (its `sample_spec`
/// and the entries themselves); the meaning of the odd ones is that of LiteLLM's own cost
/// calculators, named at each.
extension LiteLLMCatalog {
    enum FieldKind: Equatable {
        case price(PriceUnit, per: Int, scale: Decimal, above: Int?)
        /// `output_cost_per_second_1080p`: the price at one resolution. The entry's flat field of the
        /// same unit then prices every other resolution (LiteLLM's video cost calculator).
        case resolutionPrice(PriceUnit, per: Int, scale: Decimal, resolution: String)
        /// `output_cost_per_pixel`: FAL FLUX's megapixel price written per pixel (1 MP = 2^20 px).
        case outputPerPixel
        /// `input_cost_per_pixel` on a sized image entry: per-image price = per pixel × width × height
        /// (LiteLLM's default image cost calculator for gpt-image-1 and dall-e).
        case inputPerPixel
        /// `input_cost_per_image`: on an `image_generation` entry, the price of one generated image
        /// (LiteLLM's image calculator reads it so for gpt-image-1.5); elsewhere an input image.
        case inputPerImage
        case ignored(String)
        case notAPrice
    }

    static let fieldUnits: [String: (unit: PriceUnit, per: Int, scale: Decimal)] = [
        "input_cost_per_token": (.inputToken, 1_000_000, 1_000_000),
        "output_cost_per_token": (.outputToken, 1_000_000, 1_000_000),
        "cache_read_input_token_cost": (.cachedInputTokenRead, 1_000_000, 1_000_000),
        "cache_creation_input_token_cost": (.cachedInputTokenWrite, 1_000_000, 1_000_000),
        "cache_creation_input_token_cost_above_1hr": (.cachedInputTokenWrite1h, 1_000_000, 1_000_000),
        "cache_creation_input_token_cost_above_12hr": (.cachedInputTokenWrite12h, 1_000_000, 1_000_000),
        "input_cost_per_audio_token": (.audioInputToken, 1_000_000, 1_000_000),
        "output_cost_per_audio_token": (.audioOutputToken, 1_000_000, 1_000_000),
        "input_cost_per_image_token": (.imageInputToken, 1_000_000, 1_000_000),
        "output_cost_per_image_token": (.imageOutputToken, 1_000_000, 1_000_000),
        "output_cost_per_image": (.image, 1, 1),
        "input_cost_per_character": (.characters1k, 1, 1_000),
        "output_cost_per_second": (.videoSecond, 1, 1),
        "output_cost_per_video_per_second": (.videoSecond, 1, 1),
        "input_cost_per_request": (.request, 1, 1),
    ]

    /// Per-resolution families: `<prefix><resolution>`.
    static let resolutionPrefixes: [(prefix: String, unit: PriceUnit)] = [
        ("output_cost_per_video_per_second_", .videoSecond),
        ("output_cost_per_second_", .videoSecond),
        ("output_cost_per_image_", .image),
    ]

    /// Service tiers our adapters never request; their prices would be wrong for our calls.
    static let serviceTierSuffixes = ["_batches", "_flex", "_priority", "_ultrafast", "_decisions"]

    /// Fields that price something we do not charge, imported as nothing but reported.
    static let knownIgnored: [String: String] = [
        "output_cost_per_reasoning_token": "reasoning tokens are inside output tokens",
        "cache_read_input_image_token_cost": "cached image input tokens are not reported apart by our adapters",
        "cache_read_input_audio_token_cost": "cached audio input tokens are not reported apart by our adapters",
        "cache_creation_input_audio_token_cost": "cached audio input tokens are not reported apart by our adapters",
        "input_cost_per_second": "audio input seconds are not metered (transcription is not offered)",
        "input_cost_per_audio_per_second": "audio input seconds are not metered",
        "input_cost_per_video_per_second": "video input seconds are not metered",
        "input_cost_per_video_token": "video input tokens are not metered",
        "output_cost_per_video_token": "video output tokens are not metered",
        "output_cost_per_character": "output characters are not metered",
        "code_interpreter_cost_per_session": "tool sessions are not metered",
        "google_maps_grounding_cost_per_query": "tool queries are not metered",
    ]

    /// `input_cost_per_token_above_200k_tokens` is the long-context tier of `input_cost_per_token`;
    /// service tiers (`_priority`, `_flex`, `_batches`) are not ours.
    static func priceField(_ field: String) -> FieldKind {
        if let mapped = fieldUnits[field] {
            return .price(mapped.unit, per: mapped.per, scale: mapped.scale, above: nil)
        }
        if let suffix = serviceTierSuffixes.first(where: { field.hasSuffix($0) }), field.contains("cost") {
            return .ignored("service tier \(suffix.dropFirst()) is not one our adapters request")
        }
        if let range = field.range(of: "_above_", options: .backwards), field.hasSuffix("k_tokens"),
           let base = fieldUnits[String(field[..<range.lowerBound])],
           let thousands = Int(field[range.upperBound...].dropLast("k_tokens".count)) {
            // The size comes from a field name in a downloaded file: bounded, never multiplied blindly.
            let (above, overflow) = thousands.multipliedReportingOverflow(by: 1_000)
            guard !overflow, (1...PricingValidation.maximumTierTokens).contains(above) else {
                return .ignored("tier size out of range")
            }
            return base.unit.isToken
                ? .price(base.unit, per: base.per, scale: base.scale, above: above)
                : .ignored("tiers apply to token prices only")
        }
        if let reason = knownIgnored[field] { return .ignored(reason) }
        switch field {
        case "output_cost_per_pixel": return .outputPerPixel
        case "input_cost_per_pixel": return .inputPerPixel
        case "input_cost_per_image": return .inputPerImage
        default: break
        }
        for family in resolutionPrefixes where field.hasPrefix(family.prefix) {
            let resolution = String(field.dropFirst(family.prefix.count))
            guard isResolution(resolution), let base = fieldUnits[String(family.prefix.dropLast())] else { continue }
            return .resolutionPrice(family.unit, per: base.per, scale: base.scale, resolution: resolution)
        }
        if field.contains("cost") { return .ignored("not a price this catalog models") }
        return .notAPrice
    }

    /// `1080p`, `4k`, `2K`, `0.5K`, `512`: digits (one dot allowed) and an optional `p`/`k`/`K`.
    static func isResolution(_ text: String) -> Bool {
        var body = Substring(text)
        if let last = body.last, "pkK".contains(last) { body = body.dropLast() }
        guard !body.isEmpty, body.count <= 6, body.first?.isASCIIDigit == true else { return false }
        return body.allSatisfy { $0.isASCIIDigit || $0 == "." } && body.filter { $0 == "." }.count <= 1
    }

    /// `1024x1536` → 1,572,864 pixels; nil for anything else.
    static func pixels(ofSize size: String?) -> Decimal? {
        guard let size, let (width, height) = PixelSize.parse(size, maximumSide: 100_000) else { return nil }
        return Decimal(width) * Decimal(height)
    }
}
