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
        if request.prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
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
enum ParameterValue {
    case string(String)
    case integer(Int)
    case decimal(Decimal)
    case other
}

extension GenerationParameters {
    func value(of name: ParameterName) -> ParameterValue? {
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
        }
    }
}

extension AllowedValues {
    func problem(with value: ParameterValue) -> String? {
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
        case (.image, .other), (.voiceSettings, .other):
            return nil
        default:
            return "has the wrong type"
        }
    }
}
