import Foundation

extension QuoteRequest {
    /// The quote's parameters that `model` cannot take, named by their wire paths, each message
    /// listing what the model allows. A model takes a parameter only if it declares it:
    /// `size`, `n`, `duration_seconds`, `resolution` and `max_output_tokens` change what is made
    /// (and so what it costs), so quoting a model that ignores them would price something else.
    /// `quality` is checked where a model declares it; a model without it makes one quality, so
    /// the value cannot change the price. `audio` has no capability entry yet and is not checked.
    public func unsupportedParameters(for model: ModelCapability) -> [FieldError] {
        var given: [(wire: String, name: ParameterName, value: ParameterValue, strict: Bool)] = []
        if let size { given.append(("size", .size, .string(size), true)) }
        if let count { given.append(("n", .count, .integer(count), true)) }
        if let durationSeconds { given.append(("duration_seconds", .durationSeconds, .decimal(durationSeconds), true)) }
        if let resolution { given.append(("resolution", .resolution, .string(resolution), true)) }
        if let maxOutputTokens { given.append(("max_output_tokens", .maxOutputTokens, .integer(maxOutputTokens), true)) }
        if let quality { given.append(("quality", .quality, .string(quality), false)) }
        var errors: [FieldError] = []
        for parameter in given {
            let field = "parameters.\(parameter.wire)"
            guard let spec = model.parameter(parameter.name) else {
                if parameter.strict {
                    errors.append(FieldError(field: field, code: "unsupported_parameter",
                                             message: "\(field) is not accepted by model \(model.id)"))
                }
                continue
            }
            if let problem = spec.allowed.problem(with: Self.comparable(parameter.value)) {
                errors.append(FieldError(field: field, code: "unsupported_value", message: "\(field) \(problem) for model \(model.id)"))
            }
        }
        return errors
    }

    /// Whole seconds compare against integer lists and ranges, which is how models declare durations.
    private static func comparable(_ value: ParameterValue) -> ParameterValue {
        guard case .decimal(let number) = value, number == number.rounded(scale: 0, mode: .plain), number.magnitude <= Decimal(Int32.max) else { return value }
        return .integer(NSDecimalNumber(decimal: number).intValue)
    }
}
