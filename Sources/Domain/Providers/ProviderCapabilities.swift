import Foundation

/// What one provider offers, as the catalog (`GET /v1/providers`) shows it and as the router
/// and request validation consult it.
public struct ProviderCapabilities: Sendable, Codable, Equatable {
    public let provider: ProviderID
    public let displayName: String
    public let requiresKey: Bool
    /// True for the local provider: results cost nothing and never leave the machine.
    public let isOffline: Bool
    public let models: [ModelCapability]
    /// Why a capability one might expect is missing (e.g. "video: ffmpeg not found on PATH").
    public let notes: [String]

    public init(provider: ProviderID, requiresKey: Bool = true, isOffline: Bool = false,
                models: [ModelCapability], notes: [String] = []) {
        self.provider = provider
        self.displayName = provider.displayName
        self.requiresKey = requiresKey
        self.isOffline = isOffline
        self.models = models
        self.notes = notes
    }

    public var kinds: [MediaKind] {
        MediaKind.allCases.filter { kind in models.contains { $0.kind == kind } }
    }

    public func models(for kind: MediaKind) -> [ModelCapability] {
        models.filter { $0.kind == kind }
    }

    public func model(_ id: String, kind: MediaKind) -> ModelCapability? {
        models.first { $0.id == id && $0.kind == kind }
    }

    public func supports(_ kind: MediaKind) -> Bool {
        models.contains { $0.kind == kind }
    }
}

extension ProviderCapabilities {
    /// These capabilities with `more` models added after the listed ones; a model already
    /// listed for a kind keeps its own entry (the adapter's list knows its parameters best).
    public func adding(_ more: [ModelCapability], notes moreNotes: [String] = []) -> ProviderCapabilities {
        var models = self.models
        for model in more where !models.contains(where: { $0.id == model.id && $0.kind == model.kind }) {
            models.append(model)
        }
        return ProviderCapabilities(provider: provider, requiresKey: requiresKey, isOffline: isOffline, models: models,
                                    notes: notes + moreNotes)
    }
}

/// One model for one media kind, with the parameters it accepts and their allowed values.
public struct ModelCapability: Sendable, Codable, Equatable {
    public let id: String
    public let kind: MediaKind
    public let displayName: String
    /// Parameters this model understands; anything else in a request is refused by `validate`.
    public let parameters: [ParameterSpec]
    /// True when `submit` answers with a pending task that must be polled.
    public let isAsynchronous: Bool
    /// The longest prompt the provider accepts, in characters, where it documents one.
    public let maxPromptLength: Int?

    public init(id: String, kind: MediaKind, displayName: String? = nil, parameters: [ParameterSpec],
                isAsynchronous: Bool = false, maxPromptLength: Int? = nil) {
        self.id = id
        self.kind = kind
        self.displayName = displayName ?? id
        self.parameters = parameters
        self.isAsynchronous = isAsynchronous
        self.maxPromptLength = maxPromptLength
    }

    public func parameter(_ name: ParameterName) -> ParameterSpec? {
        parameters.first { $0.name == name }
    }
}

/// The request parameters a model may accept. Raw values are the snake_case names used in the
/// public API, so a catalog entry reads the same as a request body.
public enum ParameterName: String, Sendable, Codable, CaseIterable, Hashable {
    case systemPrompt = "system_prompt"
    case maxOutputTokens = "max_output_tokens"
    case temperature
    case size
    case quality
    case count
    case durationSeconds = "duration_seconds"
    case resolution
    case aspectRatio = "aspect_ratio"
    case voice
    case voiceSettings = "voice_settings"
    case speed
    case outputFormat = "output_format"
    case seed
    case negativePrompt = "negative_prompt"
    case inputImage = "input_image"
    /// Whether a video is made with sound, where that changes the price (Runway's Veo models).
    case audio
}

public struct ParameterSpec: Sendable, Codable, Equatable {
    public let name: ParameterName
    public let allowed: AllowedValues
    public let isRequired: Bool
    public let defaultValue: String?

    public init(_ name: ParameterName, _ allowed: AllowedValues, required: Bool = false, default defaultValue: String? = nil) {
        self.name = name
        self.allowed = allowed
        self.isRequired = required
        self.defaultValue = defaultValue
    }

    /// The default as a typed value, for quoting a request that leaves the parameter out; nil
    /// when there is none or it does not read as the parameter's type.
    public var defaultParameterValue: ParameterValue? {
        guard let defaultValue else { return nil }
        switch allowed {
        case .oneOf, .text: return .string(defaultValue)
        case .integers, .integerRange: return Int(defaultValue).map(ParameterValue.integer)
        case .decimalRange: return Decimal(string: defaultValue, locale: Locale(identifier: "en_US_POSIX")).map(ParameterValue.decimal)
        case .boolean: return Bool(defaultValue).map(ParameterValue.boolean)
        case .image, .voiceSettings: return nil
        }
    }
}

/// The values a parameter accepts. Integers are listed when the provider accepts only some
/// (Veo's 4|6|8 seconds) and given as a range when it accepts any in between (Runway's 2–10).
public enum AllowedValues: Sendable, Codable, Equatable {
    case oneOf([String])
    case integers([Int])
    case integerRange(min: Int, max: Int)
    case decimalRange(min: Decimal, max: Decimal)
    case text(maxLength: Int)
    case image
    case voiceSettings
    /// `true` or `false`.
    case boolean
}
