import Domain
import Foundation

enum OpenRouterErrors {
    /// providers.md §3.4. Body: `{"error":{"code":402,"message","metadata"}}`, status == code.
    static func map(_ response: ErrorResponse) -> ProviderError {
        let error = response.json?["error"]
        let message = error?["message"]?.string
        let code = error?["code"]?.int.map(String.init) ?? error?["code"]?.string
        switch response.status {
        case 402:
            // Out of credits; a Retry-After means OpenRouter expects it to clear by itself.
            return response.error(.quotaExhausted, message, code: code ?? "402",
                                  retryOverride: response.retryAfter != nil ? true : nil)
        case 403:
            // Moderation or guardrail flagged the input.
            return response.error(.contentRefused, message, code: code ?? "403")
        default:
            return response.genericError(message: message, code: code)
        }
    }
}
