import Domain
import Foundation

enum AnthropicErrors {
    /// providers.md §2.4. Body: `{"type":"error","error":{"type","message"},"request_id"}`.
    static func map(_ response: ErrorResponse) -> ProviderError {
        let type = response.json?["error"]?["type"]?.string
        let message = response.json?["error"]?["message"]?.string
        switch type {
        case "authentication_error": return response.error(.invalidKey, message, code: type)
        case "billing_error": return response.error(.quotaExhausted, message, code: type)
        case "permission_error": return response.error(.permissionDenied, message, code: type)
        case "not_found_error": return response.error(.notFound, message, code: type)
        case "rate_limit_error": return response.error(.rateLimited(retryAfter: response.retryAfter), message, code: type)
        case "overloaded_error", "api_error": return response.error(.providerDown, message, code: type)
        case "timeout_error": return response.error(.timeout, message, code: type)
        case "request_too_large": return response.error(.badRequest, message, code: type)
        case "invalid_request_error" where message?.lowercased().contains("credit balance is too low") == true:
            return response.error(.quotaExhausted, message, code: type)
        default:
            // 529 without a body still means overloaded: retry.
            if response.status == 529 { return response.error(.providerDown, message ?? "Overloaded", code: type) }
            return response.genericError(message: message, code: type)
        }
    }
}
