import Domain
import Foundation

enum RunwayErrors {
    /// providers.md §5.6: `{"error": "<message naming the field>"}`; 429 and 502–504 retry.
    static func map(_ response: ErrorResponse) -> ProviderError {
        let message = response.json?["error"]?.string ?? response.json?["message"]?.string
        if response.status == 400, let lower = message?.lowercased(),
           lower.contains("not have enough credits") || lower.contains("insufficient credits") {
            return response.error(.quotaExhausted, message)
        }
        return response.genericError(message: message)
    }

    /// A FAILED task (§5.4): safety codes are refusals and never retried; the rest are
    /// failures of this attempt (credits are refunded).
    static func taskFailure(code: String?, message: String?, taskID: String) -> ProviderError {
        let text = message ?? "Runway task failed"
        let upper = code?.uppercased() ?? ""
        if upper.hasPrefix("SAFETY.") || upper.contains(".SAFETY.") || upper.hasSuffix(".SAFETY") {
            return ProviderError(.contentRefused, provider: .runway, message: text, providerCode: code, providerRequestID: taskID)
        }
        if upper.hasPrefix("ASSET.") {
            return ProviderError(.badRequest, provider: .runway, message: text, providerCode: code, providerRequestID: taskID)
        }
        return ProviderError(.generationFailed, provider: .runway, message: text, providerCode: code, providerRequestID: taskID)
    }
}
