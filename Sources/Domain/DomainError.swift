import Foundation

/// A failure that the domain can name. Each case maps to one stable, client-visible `code`;
/// the HTTP layer turns it into an `application/problem+json` response.
public enum DomainError: Error, Equatable, Sendable {
    /// Input failed validation; one message per field.
    case validation([FieldError])
    case notFound(resource: String)
    case conflict(code: String, detail: String)
    case preconditionFailed
    /// A dependency (database, provider) is temporarily out of reach.
    case unavailable(code: String, detail: String)
}

public struct FieldError: Equatable, Sendable, Codable {
    public let field: String
    public let code: String
    public let message: String

    public init(field: String, code: String, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }
}
