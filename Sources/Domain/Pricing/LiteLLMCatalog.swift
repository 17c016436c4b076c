import Foundation

/// Imports LiteLLM's `model_prices_and_context_window.json` (BerriAI/litellm; the field names
/// are those of its `sample_spec` entry and of the entries themselves). Only facts carry over:
/// which field holds which price, per token / per image / per character / per second.
///
/// Numbers are decoded as `Decimal` by `JSONDecoder`, which reads them from their digits (a
/// test holds it to 21 significant digits, which a `Double` could not carry), so an imported
/// `2.5e-06` is exactly 0.0000025. Token prices are stored per 1M tokens and character prices
/// per 1k characters, which keeps them within Money's 10 decimals.
public enum LiteLLMCatalog {
    public struct ProviderMapping: Sendable, Hashable {
        public var provider: String
        /// LiteLLM `mode`s to take from this provider (LiteLLM's `gemini` is also text models).
        public var modes: Set<String>
        public var pricingMode: PricingMode

        public init(provider: String, modes: Set<String> = LiteLLMCatalog.supportedModes, pricingMode: PricingMode = .priced) {
            self.provider = provider
            self.modes = modes
            self.pricingMode = pricingMode
        }
    }

    public static let supportedModes: Set<String> = [
        "chat", "completion", "responses", "image_generation", "audio_speech", "video_generation",
    ]

    /// `litellm_provider` → ours, after providers.md's provider list.
    public static let defaultProviders: [String: ProviderMapping] = [
        "openai": ProviderMapping(provider: "openai"),
        "anthropic": ProviderMapping(provider: "anthropic"),
        "openrouter": ProviderMapping(provider: "openrouter", pricingMode: .providerReported),
        "elevenlabs": ProviderMapping(provider: "elevenlabs"),
        "runwayml": ProviderMapping(provider: "runway"),
        "gemini": ProviderMapping(provider: "veo", modes: ["video_generation"]),
        "fal_ai": ProviderMapping(provider: "fal"),
    ]

    public struct Options: Sendable {
        public var versionId: String
        public var label: String
        public var effectiveFrom: String
        public var currency: String
        public var providers: [String: ProviderMapping]

        public init(
            versionId: String, label: String, effectiveFrom: String, currency: String = "USD",
            providers: [String: ProviderMapping] = LiteLLMCatalog.defaultProviders
        ) {
            self.versionId = versionId
            self.label = label
            self.effectiveFrom = effectiveFrom
            self.currency = currency
            self.providers = providers
        }
    }

    /// An entry or a price that was not imported, and why.
    public struct Skipped: Sendable, Hashable, Codable {
        public var key: String
        public var field: String?
        public var reason: String
    }

    public struct Result: Sendable {
        public var version: PricingVersion
        public var skipped: [Skipped]
    }

    /// Fields that price something we do not charge, imported as nothing but reported.
    static let knownIgnored: [String: String] = [
        "output_cost_per_reasoning_token": "reasoning tokens are inside output tokens",
        "input_cost_per_pixel": "per-pixel prices are not supported",
        "output_cost_per_pixel": "per-pixel prices are not supported",
    ]

    static let fieldUnits: [String: (unit: PriceUnit, per: Int, scale: Decimal)] = [
        "input_cost_per_token": (.inputToken, 1_000_000, 1_000_000),
        "output_cost_per_token": (.outputToken, 1_000_000, 1_000_000),
        "cache_read_input_token_cost": (.cachedInputTokenRead, 1_000_000, 1_000_000),
        "cache_creation_input_token_cost": (.cachedInputTokenWrite, 1_000_000, 1_000_000),
        "cache_creation_input_token_cost_above_1hr": (.cachedInputTokenWrite1h, 1_000_000, 1_000_000),
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

    public static func decode(_ data: Data, options: Options) throws(DomainError) -> Result {
        let entries: [String: Value]
        do {
            entries = try JSONDecoder().decode([String: Value].self, from: data)
        } catch {
            throw .validation([FieldError(decodingError: error)])
        }
        var skipped: [Skipped] = []
        var models: [ModelKey: PricedModel] = [:]
        for key in entries.keys.sorted() where key != "sample_spec" {
            guard case .object(let fields) = entries[key] else {
                skipped.append(Skipped(key: key, field: nil, reason: "not an object"))
                continue
            }
            guard case .string(let litellmProvider)? = fields["litellm_provider"],
                  let mapping = options.providers[litellmProvider] else { continue }
            guard case .string(let mode)? = fields["mode"], mapping.modes.contains(mode) else {
                skipped.append(Skipped(key: key, field: "mode", reason: "mode not imported for \(litellmProvider)"))
                continue
            }
            let (modelName, dimension) = parseKey(key, litellmProvider: litellmProvider)
            let modelKey = ModelKey(provider: mapping.provider, model: modelName)
            var entry = models[modelKey] ?? PricedModel(
                provider: mapping.provider, model: modelName, mode: mapping.pricingMode,
                source: "LiteLLM model_prices_and_context_window.json \"\(key)\"", prices: []
            )
            if case .number(let maxOutput)? = fields["max_output_tokens"], let value = Int(maxOutput.description) {
                entry.maxOutputTokens = value
            }
            for field in fields.keys.sorted() {
                guard case .number(let value)? = fields[field] else { continue }
                switch priceField(field) {
                case .price(let unit, let per, let scale, let above):
                    let amount = value * scale
                    guard let price = try? Money(exactly: amount), !price.isNegative else {
                        skipped.append(Skipped(key: key, field: field, reason: "price \(amount) is negative or finer than 10 decimals"))
                        continue
                    }
                    let row = PriceRow(
                        provider: mapping.provider, model: modelName, unit: unit, dimension: dimension, price: price, per: per,
                        currency: options.currency, effectiveFrom: options.effectiveFrom,
                        source: "LiteLLM model_prices_and_context_window.json \"\(key)\".\(field)", confidence: .litellm,
                        estimateOnly: mapping.pricingMode == .providerReported, aboveInputTokens: above
                    )
                    if entry.prices.contains(where: { $0.key == row.key }) {
                        skipped.append(Skipped(key: key, field: field, reason: "duplicate of \(row.key)"))
                    } else {
                        entry.prices.append(row)
                    }
                case .ignored(let reason):
                    skipped.append(Skipped(key: key, field: field, reason: reason))
                case .notAPrice:
                    continue
                }
            }
            models[modelKey] = entry
        }
        var result = models.values.map(quotingImagesOfTokenPricedModels)
        result.removeAll { $0.prices.isEmpty && $0.mode == .priced }
        let version = PricingVersion(
            id: options.versionId, label: options.label, effectiveFrom: options.effectiveFrom,
            currency: options.currency, models: result
        )
        let errors = PricingValidation.errors(in: version.models, currency: options.currency, effectiveFrom: options.effectiveFrom)
        guard errors.isEmpty else { throw .validation(errors) }
        return Result(version: version, skipped: skipped)
    }

    enum FieldKind: Equatable {
        case price(PriceUnit, per: Int, scale: Decimal, above: Int?)
        case ignored(String)
        case notAPrice
    }

    /// `input_cost_per_token_above_200k_tokens` is the long-context tier of
    /// `input_cost_per_token`; service tiers (`_priority`, `_flex`, `_batches`) are not ours.
    static func priceField(_ field: String) -> FieldKind {
        if let mapped = fieldUnits[field] {
            return .price(mapped.unit, per: mapped.per, scale: mapped.scale, above: nil)
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
        if field.contains("cost") { return .ignored("not a price this catalog models") }
        return .notAPrice
    }

    /// `openrouter/openai/gpt-4o` → `openai/gpt-4o`; `medium/1024-x-1024/gpt-image-1` →
    /// `gpt-image-1` with size 1024x1024 and quality medium.
    static func parseKey(_ key: String, litellmProvider: String) -> (String, PriceDimension) {
        var parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1, parts[0] == litellmProvider { parts.removeFirst() }
        var dimension = PriceDimension()
        if parts.count > 1, ["low", "medium", "high", "standard", "hd"].contains(parts[0]) {
            dimension.quality = parts.removeFirst()
        }
        if parts.count > 1, parts[0].contains("-x-"), parts[0].split(separator: "-x-").allSatisfy({ Int($0) != nil }) {
            dimension.size = parts.removeFirst().replacingOccurrences(of: "-x-", with: "x")
        }
        return (parts.joined(separator: "/"), dimension)
    }

    /// A model billed by tokens keeps per-image prices for quoting only, so that an image
    /// reported beside its tokens is not charged twice.
    static func quotingImagesOfTokenPricedModels(_ model: PricedModel) -> PricedModel {
        guard model.prices.contains(where: { $0.unit.isToken }) else { return model }
        var result = model
        result.prices = model.prices.map { row in
            var row = row
            if row.unit == .image { row.estimateOnly = true }
            return row
        }
        return result
    }

    /// The JSON values LiteLLM uses; numbers keep their exact decimal value.
    enum Value: Decodable {
        case number(Decimal)
        case string(String)
        case bool(Bool)
        case object([String: Value])
        case other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bool = try? container.decode(Bool.self) {
                self = .bool(bool)
            } else if let number = try? container.decode(Decimal.self) {
                self = .number(number)
            } else if let string = try? container.decode(String.self) {
                self = .string(string)
            } else if let object = try? container.decode([String: Value].self) {
                self = .object(object)
            } else {
                self = .other
            }
        }
    }
}
