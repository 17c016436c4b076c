import Foundation

/// What went wrong talking to the object store, in words an operator can act on. No case holds
/// the secret key or a signature.
public enum S3StoreError: Error, Equatable, CustomStringConvertible {
    /// The service answered with an error: S3's `<Error><Code>` (or, for a body-less answer such
    /// as HEAD's, a code named after the status).
    case service(operation: String, status: Int, code: String, message: String, requestID: String?)
    /// No usable answer: connection refused, timeout, reset, TLS failure.
    case transport(operation: String, detail: String)
    /// An answer that breaks the protocol (missing upload id, unparsable listing, wrong length).
    case invalidResponse(operation: String, detail: String)
    /// A caller's argument the store refuses (expiry out of range, a header value with control characters).
    case invalidArgument(String)
    /// `read(_:)` holds an object in memory; larger ones are read through `reader(_:)`.
    case objectTooLarge(key: String, bytes: Int64, limit: Int64)

    public var description: String {
        switch self {
        case let .service(operation, status, code, message, requestID):
            let hint = Self.credentialCodes.contains(code) ? " (check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and S3_REGION)" : ""
            return "S3 \(operation) failed: HTTP \(status) \(code)\(message.isEmpty ? "" : ": \(message)")\(hint)"
                + (requestID.map { " [request id \($0)]" } ?? "")
        case let .transport(operation, detail):
            return "S3 \(operation) failed: \(detail)"
        case let .invalidResponse(operation, detail):
            return "S3 \(operation): unexpected answer: \(detail)"
        case let .invalidArgument(detail):
            return "S3: \(detail)"
        case let .objectTooLarge(key, bytes, limit):
            return "S3 object \(key) has \(bytes) bytes, over the \(limit)-byte in-memory read limit"
        }
    }

    /// Codes that mean the credentials, signature or region are wrong rather than the request.
    static let credentialCodes: Set<String> = [
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken",
        "AuthorizationHeaderMalformed", "RequestTimeTooSkewed", "Forbidden",
    ]

    /// Whether the credentials (or the region they are scoped to) are what the service refused.
    public var isCredentialProblem: Bool {
        if case let .service(_, _, code, _, _) = self { return Self.credentialCodes.contains(code) }
        return false
    }

    /// 5xx, `SlowDown` and friends, and transport failures are worth another attempt.
    var isRetryable: Bool {
        switch self {
        case let .service(_, status, code, _, _):
            return status >= 500 || ["SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"].contains(code)
        case .transport:
            return true
        case .invalidResponse, .invalidArgument, .objectTooLarge:
            return false
        }
    }

    /// The error for a non-2xx answer: the XML body's code and message when there is one.
    static func fromResponse(operation: String, status: Int, body: Data, requestID: String?) -> S3StoreError {
        let text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        let code = S3XML.first("Code", in: text).map(bounded) ?? statusCode(status)
        let message = S3XML.first("Message", in: text).map(bounded) ?? ""
        let bodyRequestID = S3XML.first("RequestId", in: text).map(bounded)
        return .service(operation: operation, status: status, code: code, message: message,
                        requestID: bodyRequestID ?? requestID.map(bounded))
    }

    private static func statusCode(_ status: Int) -> String {
        switch status {
        case 301: return "PermanentRedirect"
        case 400: return "BadRequest"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 409: return "Conflict"
        case 412: return "PreconditionFailed"
        case 416: return "InvalidRange"
        case 500: return "InternalError"
        case 503: return "ServiceUnavailable"
        default: return "HTTP\(status)"
        }
    }

    /// Service text goes into logs: at most 512 characters, no control characters.
    private static func bounded(_ text: String) -> String {
        String(text.unicodeScalars.prefix(512).map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) })
    }
}
