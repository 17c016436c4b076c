import Domain
import Foundation

enum OpenAIErrors {
    /// providers.md §1.5. Body: `{"error":{"message","type","param","code"}}`.
    static func map(_ response: ErrorResponse) -> ProviderError {
        let error = response.json?["error"]
        let message = error?["message"]?.string
        let type = error?["type"]?.string
        let code = error?["code"]?.string ?? type
        switch response.status {
        case 400 where code == "moderation_blocked" || code == "content_policy_violation":
            return response.error(.contentRefused, message, code: code)
        case 429 where code == "insufficient_quota" || type == "insufficient_quota":
            return response.error(.quotaExhausted, message, code: code)
        default:
            return response.genericError(message: message, code: code)
        }
    }
}
