import Domain
import Foundation

/// An error the client may see, rendered as RFC 9457 `application/problem+json`.
///
/// `code` is stable and machine-readable; `message` repeats `detail` so Supabase clients, which
/// read `code`/`message`, understand the same body.
struct Problem: Error, Sendable {
    let status: Int
    let code: String
    let title: String
    let detail: String
    var errors: [FieldError]? = nil
    var headers: [(String, String)] = []
    /// GoTrue's `weak_password.reasons`, which Supabase clients read on 422 weak_password.
    var weakPasswordReasons: [String]? = nil
    /// `budget_exceeded`: the scope, its limit and the shortfall.
    var budget: ProblemBudget? = nil

    static func notFound(_ detail: String = "No resource at this path.") -> Problem {
        Problem(status: 404, code: "not_found", title: "Not Found", detail: detail)
    }

    static func methodNotAllowed(allowed: [String]) -> Problem {
        Problem(status: 405, code: "method_not_allowed", title: "Method Not Allowed",
                detail: "This path accepts \(allowed.joined(separator: ", ")).",
                headers: [("Allow", allowed.joined(separator: ", "))])
    }

    static func payloadTooLarge(limit: Int) -> Problem {
        Problem(status: 413, code: "payload_too_large", title: "Content Too Large",
                detail: "The request body exceeds the limit of \(limit) bytes.")
    }

    static func unsupportedMediaType(_ received: String?) -> Problem {
        Problem(status: 415, code: "unsupported_media_type", title: "Unsupported Media Type",
                detail: "Send the body as application/json" + (received.map { "; received \($0)" } ?? "; no Content-Type was given") + ".")
    }

    static func badJSON(_ detail: String) -> Problem {
        Problem(status: 400, code: "bad_json", title: "Malformed JSON", detail: detail)
    }

    /// The server is draining before it exits; another instance (or this one restarted) will answer.
    static func shuttingDown() -> Problem {
        Problem(status: 503, code: "shutting_down", title: "Service Unavailable",
                detail: "The server is shutting down; retry the request.", headers: [("Retry-After", "1")])
    }

    static func malformedQuery() -> Problem {
        Problem(status: 400, code: "bad_query", title: "Bad Request",
                detail: "A query parameter holds a NUL character or bytes that are not UTF-8.")
    }

    static func validation(_ errors: [FieldError]) -> Problem {
        Problem(status: 422, code: "validation_failed", title: "Validation Failed",
                detail: errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "), errors: errors)
    }

    static func databaseUnavailable() -> Problem {
        Problem(status: 503, code: "database_unavailable", title: "Service Unavailable",
                detail: "The database is not reachable right now; retry shortly.", headers: [("Retry-After", "1")])
    }

    static func internalError() -> Problem {
        Problem(status: 500, code: "internal_error", title: "Internal Server Error",
                detail: "Something went wrong on our side; quote the request id when reporting it.")
    }

    func response(requestID: String) -> HTTPResponse {
        let body = ProblemBody(type: "/problems/\(code)", title: title, status: status, detail: detail,
                               code: code, message: detail, requestId: requestID, errors: errors,
                               weakPassword: weakPasswordReasons.map { WeakPassword(reasons: $0) }, budget: budget)
        let data = (try? JSONCoding.encoder.encode(body)) ?? Data()
        // `x-sb-error-code` is how GoTrue names the error in a header; Supabase clients look for it.
        return HTTPResponse(status: status, headers: [("Content-Type", "application/problem+json"), ("x-sb-error-code", code)] + headers,
                            body: data)
    }
}

private struct ProblemBody: Encodable {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let code: String
    let message: String
    let requestId: String
    let errors: [FieldError]?
    let weakPassword: WeakPassword?
    let budget: ProblemBudget?
}

/// The budget a refused admission would have overrun (amounts in USD, as decimal strings).
struct ProblemBudget: Encodable, Sendable {
    let scope: String
    let limit: String
    let spent: String
    let reserved: String
    let required: String
    let shortfall: String
}

private struct WeakPassword: Encodable {
    let reasons: [String]
}
