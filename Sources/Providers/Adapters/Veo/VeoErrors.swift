import Domain
import Foundation

enum VeoErrors {
    /// providers.md §6.3: google.rpc.Status JSON. A bad key is a 400 with reason
    /// `API_KEY_INVALID`, not a 401; a 429 may carry `RetryInfo.retryDelay` ("37s").
    static func map(_ response: ErrorResponse) -> ProviderError {
        let error = response.json?["error"]
        let message = error?["message"]?.string
        let status = error?["status"]?.string
        let details = error?["details"]?.array ?? []
        let reasons = details.compactMap { $0["reason"]?.string }
        if reasons.contains("API_KEY_INVALID") || (response.status == 400 && message?.contains("API key not valid") == true) {
            return response.error(.invalidKey, message, code: "API_KEY_INVALID")
        }
        if response.status == 429 {
            let delay = details.compactMap { $0["retryDelay"]?.string }.first.flatMap(seconds)
            return response.error(.rateLimited(retryAfter: delay ?? response.retryAfter), message, code: status)
        }
        return response.genericError(message: message, code: status ?? reasons.first)
    }

    /// A protobuf Duration in JSON: "37s", "1.5s"; nil beyond an hour or not finite.
    static func seconds(_ text: String) -> Double? {
        guard text.hasSuffix("s"), text.utf8.count <= 32 else { return nil }
        return ReportedNumbers.retryDelay(Double(text.dropLast()))
    }

    /// A finished operation's `error` (google.rpc.Status with a gRPC code).
    static func operationFailure(_ error: WireJSON, operation: String) -> ProviderError {
        let message = error["message"]?.string ?? "Veo operation failed"
        let code = error["code"]?.int ?? 2
        let kind: ProviderError.Kind
        var retry: Bool?
        switch code {
        case 3, 9, 11: kind = .badRequest
        case 7: kind = .permissionDenied
        case 8: kind = .rateLimited(retryAfter: nil)
        case 4, 13, 14: kind = .generationFailed; retry = true
        default: kind = .generationFailed
        }
        return ProviderError(kind, provider: .veo, message: message, providerCode: "rpc_\(code)",
                             providerRequestID: operation, retryOverride: retry)
    }
}
