import Domain
import Foundation

enum ElevenLabsErrors {
    /// providers.md §4.4. Body: `{"detail":{"status","message"}}`, or a FastAPI validation list.
    /// Note the quota answer is a 401, so the status alone does not mean "bad key".
    static func map(_ response: ErrorResponse) -> ProviderError {
        let detail = response.json?["detail"]
        if let problems = detail?.array {
            let message = problems.compactMap { item -> String? in
                let location = item["loc"]?.array?.compactMap { $0.string ?? $0.int.map(String.init) }.joined(separator: ".")
                return item["msg"]?.string.map { "\(location ?? "body"): \($0)" }
            }.joined(separator: "; ")
            return response.error(.badRequest, message.isEmpty ? nil : message, code: "validation_error")
        }
        let status = detail?["status"]?.string ?? detail?["code"]?.string
        let message = detail?["message"]?.string ?? detail?.string
        switch status {
        case "quota_exceeded": return response.error(.quotaExhausted, message, code: status)
        case "invalid_api_key": return response.error(.invalidKey, message, code: status)
        case "missing_permissions": return response.error(.permissionDenied, message, code: status)
        case "voice_not_found", "model_not_found": return response.error(.notFound, message, code: status)
        case "too_many_concurrent_requests", "system_busy":
            return response.error(.rateLimited(retryAfter: response.retryAfter), message, code: status)
        default: return response.genericError(message: message, code: status)
        }
    }
}
