import Foundation

/// Validation of project bodies. Input arrives as parsed JSON so that a wrong type is reported
/// per field like any other violation, and every violation comes back in one 422.
/// Unknown members never reach here: the HTTP layer refuses them (422 `unknown_field`). Lengths count Unicode
/// scalars, as PostgreSQL's `char_length` does, so the table's checks can never refuse what passed here.
public enum ProjectRules {
    public static let maximumNameLength = 120
    public static let maximumDescriptionLength = 2_000

    public static func newProject(_ body: WireJSONObject) throws(DomainError) -> NewProject {
        var errors: [FieldError] = []
        var name: String?
        if let value = body["name"], value != .null {
            name = validName(value, &errors)
        } else {
            errors.append(FieldError(field: "name", code: "required", message: "Name is required."))
        }
        let description = optionalDescription(body["description"], &errors)
        let limit = optionalLimit(body["budget_limit"], &errors)
        var period = BudgetPeriod.total
        if let value = body["budget_period"], value != .null {
            period = validPeriod(value, &errors) ?? .total
        }
        let allowUnpriced = optionalFlag(body["allow_unpriced"], field: "allow_unpriced", &errors) ?? false
        guard errors.isEmpty, let name else { throw .validation(errors) }
        var project = NewProject(name: name, description: description, budgetLimit: limit, budgetPeriod: period)
        project.allowUnpriced = allowUnpriced
        return project
    }

    public static func changes(_ body: WireJSONObject) throws(DomainError) -> ProjectChanges {
        var errors: [FieldError] = []
        var changes = ProjectChanges()
        if let value = body["name"] {
            changes.name = validName(value, &errors)
        }
        switch body["description"] {
        case nil: break
        case .null?: changes.description = .clear
        case let value?: changes.description = validDescription(value, &errors).map(FieldUpdate.set) ?? .unchanged
        }
        switch body["budget_limit"] {
        case nil: break
        case .null?: changes.budgetLimit = .clear
        case let value?: changes.budgetLimit = validLimit(value, &errors).map(FieldUpdate.set) ?? .unchanged
        }
        if let value = body["budget_period"] {
            changes.budgetPeriod = validPeriod(value, &errors)
        }
        if let value = body["archived"] {
            if case .bool(let flag) = value {
                changes.archived = flag
            } else {
                errors.append(FieldError(field: "archived", code: "invalid_type", message: "Archived must be true or false."))
            }
        }
        changes.allowUnpriced = optionalFlag(body["allow_unpriced"], field: "allow_unpriced", &errors)
        guard errors.isEmpty else { throw .validation(errors) }
        return changes
    }

    /// A boolean member; absent or null leaves it as it is.
    private static func optionalFlag(_ value: WireJSON?, field: String, _ errors: inout [FieldError]) -> Bool? {
        switch value {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        case _?:
            errors.append(FieldError(field: field, code: "invalid_type", message: "\(field) must be true or false."))
            return nil
        }
    }

    /// Trimmed, so "  " is empty and stored names never carry stray spaces.
    private static func validName(_ value: WireJSON, _ errors: inout [FieldError]) -> String? {
        guard case .string(let text) = value else {
            errors.append(FieldError(field: "name", code: "invalid_type", message: "Name must be a string."))
            return nil
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !hasNUL(trimmed, field: "name", &errors) else { return nil }
        // The sent text is bounded too, as the schema's maxLength says, so that a client's
        // validator and the server agree on every input.
        guard (1...maximumNameLength).contains(trimmed.unicodeScalars.count), text.unicodeScalars.count <= maximumNameLength else {
            errors.append(FieldError(field: "name", code: "invalid_length",
                                     message: "Name must be at most \(maximumNameLength) characters, and at least 1 after trimming."))
            return nil
        }
        return trimmed
    }

    private static func optionalDescription(_ value: WireJSON?, _ errors: inout [FieldError]) -> String? {
        guard let value, value != .null else { return nil }
        return validDescription(value, &errors)
    }

    private static func validDescription(_ value: WireJSON, _ errors: inout [FieldError]) -> String? {
        guard case .string(let text) = value else {
            errors.append(FieldError(field: "description", code: "invalid_type", message: "Description must be a string or null."))
            return nil
        }
        guard !hasNUL(text, field: "description", &errors) else { return nil }
        guard text.unicodeScalars.count <= maximumDescriptionLength else {
            errors.append(FieldError(field: "description", code: "too_long",
                                     message: "Description must be at most \(maximumDescriptionLength) characters."))
            return nil
        }
        return text
    }

    /// PostgreSQL text cannot hold U+0000; refusing it here keeps it a 422 instead of a 500.
    private static func hasNUL(_ text: String, field: String, _ errors: inout [FieldError]) -> Bool {
        guard text.unicodeScalars.contains("\u{0}") else { return false }
        errors.append(FieldError(field: field, code: "invalid_characters", message: "Text must not contain NUL characters."))
        return true
    }

    private static func optionalLimit(_ value: WireJSON?, _ errors: inout [FieldError]) -> Money? {
        guard let value, value != .null else { return nil }
        return validLimit(value, &errors)
    }

    /// Amounts are strings ("12.50"): a JSON number may already have lost digits in the client.
    private static func validLimit(_ value: WireJSON, _ errors: inout [FieldError]) -> Money? {
        guard case .string(let text) = value else {
            errors.append(FieldError(field: "budget_limit", code: "invalid_type",
                                     message: "Budget limit must be a decimal string such as \"12.50\", or null."))
            return nil
        }
        do throws(MoneyFormatError) {
            return try Money(parsing: text)
        } catch {
            errors.append(error.fieldError("budget_limit"))
            return nil
        }
    }

    private static func validPeriod(_ value: WireJSON, _ errors: inout [FieldError]) -> BudgetPeriod? {
        guard case .string(let text) = value, let period = BudgetPeriod(rawValue: text) else {
            errors.append(FieldError(field: "budget_period", code: "invalid_budget_period",
                                     message: "Budget period must be \"total\" or \"monthly\"."))
            return nil
        }
        return period
    }
}
