import Foundation

extension ModelCapability {
    /// Checks a request's parameters against what this model accepts, one `FieldError` per
    /// problem, so the API can refuse a request before anything is reserved or sent.
    public func validate(_ request: GenerationRequest) -> [FieldError] {
        var errors: [FieldError] = []
        if request.kind != kind {
            errors.append(FieldError(field: "kind", code: "unsupported_kind",
                                     message: "model \(id) generates \(kind.rawValue), not \(request.kind.rawValue)"))
        }
        if request.prompt.consists(of: .whitespacesAndNewlines) {
            errors.append(FieldError(field: "prompt", code: "required", message: "prompt must not be empty"))
        }
        if let maxPromptLength, request.prompt.unicodeScalars.count > maxPromptLength {
            errors.append(FieldError(field: "prompt", code: "too_long",
                                     message: "model \(id) accepts at most \(maxPromptLength) characters"))
        }
        let given = request.parameters.setNames
        for name in given where parameter(name) == nil {
            errors.append(FieldError(field: name.rawValue, code: "unsupported_parameter",
                                     message: "model \(id) does not accept \(name.rawValue)"))
        }
        for spec in parameters {
            let value = request.parameters.value(of: spec.name)
            guard let value else {
                if spec.isRequired {
                    errors.append(FieldError(field: spec.name.rawValue, code: "required",
                                             message: "model \(id) requires \(spec.name.rawValue)"))
                }
                continue
            }
            if let problem = spec.allowed.problem(with: value) {
                errors.append(FieldError(field: spec.name.rawValue, code: "invalid_value", message: problem))
            }
        }
        return errors
    }
}

/// A parameter value reduced to what `AllowedValues` can check.
public enum ParameterValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case decimal(Decimal)
    case boolean(Bool)
    case other
}

extension GenerationParameters {
    public func value(of name: ParameterName) -> ParameterValue? {
        switch name {
        case .systemPrompt: systemPrompt.map(ParameterValue.string)
        case .maxOutputTokens: maxOutputTokens.map(ParameterValue.integer)
        case .temperature: temperature.map(ParameterValue.decimal)
        case .size: size.map(ParameterValue.string)
        case .quality: quality.map(ParameterValue.string)
        case .count: count.map(ParameterValue.integer)
        case .durationSeconds: durationSeconds.map(ParameterValue.integer)
        case .resolution: resolution.map(ParameterValue.string)
        case .aspectRatio: aspectRatio.map(ParameterValue.string)
        case .voice: voice.map(ParameterValue.string)
        case .voiceSettings: voiceSettings.map { _ in .other }
        case .speed: speed.map(ParameterValue.decimal)
        case .outputFormat: outputFormat.map(ParameterValue.string)
        case .seed: seed.map(ParameterValue.integer)
        case .negativePrompt: negativePrompt.map(ParameterValue.string)
        case .inputImage: inputImage.map { _ in .other }
        case .audio: audio.map(ParameterValue.boolean)
        }
    }

    /// Sets `name` to `value` when the value has the parameter's type; structured parameters
    /// (images, voice settings) have no scalar value and are left alone.
    mutating func set(_ name: ParameterName, to value: ParameterValue) {
        switch (name, value) {
        case (.systemPrompt, .string(let text)): systemPrompt = text
        case (.maxOutputTokens, .integer(let number)): maxOutputTokens = number
        case (.temperature, .decimal(let number)): temperature = number
        case (.temperature, .integer(let number)): temperature = Decimal(number)
        case (.size, .string(let text)): size = text
        case (.quality, .string(let text)): quality = text
        case (.count, .integer(let number)): count = number
        case (.durationSeconds, .integer(let number)): durationSeconds = number
        case (.resolution, .string(let text)): resolution = text
        case (.aspectRatio, .string(let text)): aspectRatio = text
        case (.voice, .string(let text)): voice = text
        case (.speed, .decimal(let number)): speed = number
        case (.speed, .integer(let number)): speed = Decimal(number)
        case (.outputFormat, .string(let text)): outputFormat = text
        case (.seed, .integer(let number)): seed = number
        case (.negativePrompt, .string(let text)): negativePrompt = text
        case (.audio, .boolean(let flag)): audio = flag
        default: break
        }
    }
}

extension ModelCapability {
    /// `parameters` with every parameter this model declares a default for and the request
    /// leaves out set to that default: what the model will be asked for, and so what is priced.
    public func withDefaults(_ parameters: GenerationParameters) -> GenerationParameters {
        var resolved = parameters
        for spec in self.parameters where parameters.value(of: spec.name) == nil {
            if let value = spec.defaultParameterValue { resolved.set(spec.name, to: value) }
        }
        return resolved
    }
}

extension AllowedValues {
    /// Why `value` is not allowed, naming what is; nil when it is.
    public func problem(with value: ParameterValue) -> String? {
        switch (self, value) {
        case let (.oneOf(options), .string(text)):
            return options.contains(text) ? nil : "must be one of \(options.joined(separator: ", "))"
        case let (.integers(options), .integer(number)):
            return options.contains(number) ? nil : "must be one of \(options.map(String.init).joined(separator: ", "))"
        case let (.integerRange(min, max), .integer(number)):
            return (min...max).contains(number) ? nil : "must be between \(min) and \(max)"
        case let (.decimalRange(min, max), .decimal(number)):
            return number >= min && number <= max ? nil : "must be between \(min) and \(max)"
        case let (.decimalRange(min, max), .integer(number)):
            return Decimal(number) >= min && Decimal(number) <= max ? nil : "must be between \(min) and \(max)"
        case let (.text(maxLength), .string(text)):
            return text.unicodeScalars.count <= maxLength ? nil : "must be at most \(maxLength) characters"
        case (.image, .other), (.voiceSettings, .other), (.boolean, .boolean):
            return nil
        default:
            return "has the wrong type"
        }
    }
}
