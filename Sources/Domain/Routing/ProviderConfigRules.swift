import Foundation

/// Validation of a `PUT /v1/provider-configs/{provider}` body against the provider's catalog:
/// every problem reported per field, nothing stored unless all are fine.
public enum ProviderConfigRules {
    public static func settings(_ body: WireJSONObject, for capabilities: ProviderCapabilities) throws -> ProviderConfigSettings {
        var errors: [FieldError] = []
        var settings = ProviderConfigSettings()
        switch body["enabled"] {
        case nil: break
        case .bool(let value)?: settings.enabled = value
        default: errors.append(FieldError(field: "enabled", code: "invalid_type", message: "enabled must be true or false."))
        }
        if let value = body["priority"] {
            if let priority = integer(value, in: ProviderConfig.priorityRange) {
                settings.priority = priority
            } else {
                errors.append(FieldError(field: "priority", code: "invalid_value",
                                         message: "priority must be an integer from \(ProviderConfig.priorityRange.lowerBound) to \(ProviderConfig.priorityRange.upperBound)."))
            }
        }
        if let value = body["requests_per_minute"], value != .null {
            if let requests = integer(value, in: ProviderConfig.requestsPerMinuteRange) {
                settings.requestsPerMinute = requests
            } else {
                errors.append(FieldError(field: "requests_per_minute", code: "invalid_value",
                                         message: "requests_per_minute must be null or an integer from 1 to \(ProviderConfig.requestsPerMinuteRange.upperBound)."))
            }
        }
        switch body["monthly_budget"] {
        case nil, .null?: break
        case .string(let text)?:
            do throws(MoneyFormatError) {
                settings.monthlyBudget = try Money(parsing: text)
            } catch {
                errors.append(error.fieldError("monthly_budget"))
            }
        default:
            errors.append(FieldError(field: "monthly_budget", code: "invalid_type",
                                     message: "monthly_budget must be a decimal string such as \"50.00\", or null."))
        }
        switch body["default_models"] {
        case nil, .null?: break
        case .object(let members)?:
            for (name, value) in members.entries.sorted(by: { $0.key < $1.key }) {
                let field = "default_models.\(name)"
                guard let kind = MediaKind(rawValue: name) else {
                    errors.append(FieldError(field: field, code: "unknown_kind",
                                             message: "Media kinds are \(MediaKind.allCases.map(\.rawValue).joined(separator: ", "))."))
                    continue
                }
                guard case .string(let model) = value else {
                    errors.append(FieldError(field: field, code: "invalid_type", message: "A default model is a model id string."))
                    continue
                }
                guard capabilities.model(model, kind: kind) != nil else {
                    errors.append(FieldError(field: field, code: "unknown_model",
                                             message: "\(capabilities.provider.rawValue) has no \(kind.rawValue) model with this id (see GET /v1/providers)."))
                    continue
                }
                settings.defaultModels[kind] = model
            }
        default:
            errors.append(FieldError(field: "default_models", code: "invalid_type",
                                     message: "default_models must be an object from media kind to model id."))
        }
        if !errors.isEmpty { throw DomainError.validation(errors) }
        return settings
    }

    /// A JSON integer written as one (`5`, not `5.0`) within `range`.
    private static func integer(_ value: WireJSON, in range: ClosedRange<Int>) -> Int? {
        guard case .number(let text) = value, let number = Int(text), range.contains(number) else { return nil }
        return number
    }
}
