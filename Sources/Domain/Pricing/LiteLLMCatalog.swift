import Foundation

/// Imports LiteLLM's `model_prices_and_context_window.json` (BerriAI/litellm; shipped in the PyPI
/// wheel as `litellm/model_prices_and_context_window_backup.json`) unmodified. Only facts carry
/// over: which field holds which price, per token / image / character / second / pixel.
///
/// An entry or a field the importer cannot use is skipped and reported, never a reason to refuse
/// the rest of the file: a model whose prices would not validate is left out whole, with the
/// reasons. Numbers are decoded as `Decimal` from their digits (a test holds it to 21
/// significant digits), so an imported `2.5e-06` is exactly 0.0000025. Token prices are stored
/// per 1M tokens and character prices per 1k characters, which keeps them within 10 decimals.
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

    /// The modes our adapters can call. `responses` (models served only on `/v1/responses`, such
    /// as gpt-5.4-pro) and `completion` (legacy `/v1/completions`) are not: pricing them would offer
    /// models every call to which fails.
    public static let supportedModes: Set<String> = [
        "chat", "image_generation", "audio_speech", "video_generation",
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

    /// A field that became a price row.
    public struct UsedField: Sendable, Hashable, Codable {
        public var key: String
        public var field: String
        public var row: PriceKey
        public var price: String
        public var per: Int
        /// How the price was derived when it is not the field's value rescaled.
        public var note: String?
    }

    /// What became of one model: the entries that named it, each field used and each skipped.
    public struct ModelReport: Sendable, Hashable, Codable {
        public var provider: String
        public var model: String
        public var entries: [String]
        public var used: [UsedField]
        public var skipped: [Skipped]
        /// False when the model was left out whole (its `skipped` says why).
        public var imported: Bool
    }

    public struct Result: Sendable {
        public var version: PricingVersion
        /// Per model of our providers, in provider and model order.
        public var models: [ModelReport]
        /// Entries of our providers that named no importable model (wrong mode, not an object).
        public var skippedEntries: [Skipped]

        /// Every skipped entry and field, entry-level first.
        public var skipped: [Skipped] { skippedEntries + models.flatMap(\.skipped) }
    }

    public static func decode(_ data: Data, options: Options) throws(DomainError) -> Result {
        let entries: [String: Value]
        do {
            entries = try JSONDecoder().decode([String: Value].self, from: data)
        } catch {
            throw .validation([FieldError(decodingError: error)])
        }
        let optionErrors = PricingValidation.errors(in: [], currency: options.currency, effectiveFrom: options.effectiveFrom)
        guard optionErrors.isEmpty else { throw .validation(optionErrors) }

        var skippedEntries: [Skipped] = []
        var builders: [ModelKey: ModelBuilder] = [:]
        for key in entries.keys.sorted() where key != "sample_spec" {
            guard case .object(let fields) = entries[key] else {
                skippedEntries.append(Skipped(key: key, field: nil, reason: "not an object"))
                continue
            }
            guard case .string(let litellmProvider)? = fields["litellm_provider"],
                  let mapping = options.providers[litellmProvider] else { continue }
            guard case .string(let mode)? = fields["mode"], mapping.modes.contains(mode) else {
                skippedEntries.append(Skipped(key: key, field: "mode", reason: "mode not imported for \(litellmProvider)"))
                continue
            }
            let (modelName, dimension) = parseKey(key, litellmProvider: litellmProvider)
            let modelKey = ModelKey(provider: mapping.provider, model: modelName)
            var builder = builders[modelKey] ?? ModelBuilder(
                model: PricedModel(provider: mapping.provider, model: modelName, mode: mapping.pricingMode,
                                   source: "LiteLLM model_prices_and_context_window.json \"\(key)\"", prices: []),
                options: options, estimateOnly: mapping.pricingMode == .providerReported)
            builder.add(entry: key, fields: fields, mode: mode, dimension: dimension)
            builders[modelKey] = builder
        }

        var reports: [ModelReport] = []
        var models: [PricedModel] = []
        for key in builders.keys.sorted(by: { ($0.provider, $0.model) < ($1.provider, $1.model) }) {
            guard var builder = builders[key] else { continue }
            builder.finish()
            let errors = PricingValidation.errors(in: [builder.model], currency: options.currency, effectiveFrom: options.effectiveFrom)
            var imported = errors.isEmpty
            if !errors.isEmpty {
                builder.skipped += errors.map {
                    Skipped(key: builder.entries.first ?? key.model, field: nil, reason: "model left out: \($0.code): \($0.message)")
                }
            } else if builder.model.prices.isEmpty && builder.model.mode == .priced {
                imported = false
                builder.skipped.append(Skipped(key: builder.entries.first ?? key.model, field: nil, reason: "model left out: no importable price"))
            }
            if imported { models.append(builder.model) }
            reports.append(ModelReport(provider: key.provider, model: key.model, entries: builder.entries,
                                       used: imported ? builder.used : [], skipped: builder.skipped, imported: imported))
        }
        let version = PricingVersion(
            id: options.versionId, label: options.label, effectiveFrom: options.effectiveFrom,
            currency: options.currency, models: models
        )
        return Result(version: version, models: reports, skippedEntries: skippedEntries)
    }

    /// `openrouter/openai/gpt-4o` → `openai/gpt-4o`; `medium/1024-x-1024/gpt-image-1` →
    /// `gpt-image-1` with size 1024x1024 and quality medium.
    static func parseKey(_ key: String, litellmProvider: String) -> (String, PriceDimension) {
        var parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1, parts[0] == litellmProvider { parts.removeFirst() }
        var dimension = PriceDimension()
        if parts.count > 1, ["low", "medium", "high", "standard", "hd", "xhigh", "max", "auto"].contains(parts[0]) {
            dimension.quality = parts.removeFirst()
        }
        if parts.count > 1, parts[0].contains("-x-"), parts[0].split(separator: "-x-").allSatisfy({ Int($0) != nil }) {
            dimension.size = parts.removeFirst().replacingOccurrences(of: "-x-", with: "x")
        }
        return (parts.joined(separator: "/"), dimension)
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
