import Domain
import Foundation

enum FALErrors {
    /// providers.md §7.2: `{"detail": "..."}` or a FastAPI validation list, with the type in
    /// `x-fal-error-type`. A 403 is usually an exhausted balance or a locked account.
    static func map(_ response: ErrorResponse) -> ProviderError {
        let detail = response.json?["detail"]
        let message: String?
        if let problems = detail?.array {
            message = problems.compactMap { item -> String? in
                let location = item["loc"]?.array?.compactMap { $0.string ?? $0.int.map(String.init) }.joined(separator: ".")
                return item["msg"]?.string.map { "\(location ?? "body"): \($0)" }
            }.joined(separator: "; ")
        } else {
            message = detail?.string ?? response.json?["message"]?.string
        }
        let code = response.headers["x-fal-error-type"] ?? response.json?["error_type"]?.string
            ?? response.json?["status"]?.string
        if response.status == 403 {
            let lower = message?.lowercased() ?? ""
            let exhausted = lower.contains("exhausted balance") || lower.contains("locked") || lower.contains("balance")
            return response.error(exhausted ? .quotaExhausted : .permissionDenied, message, code: code)
        }
        return response.genericError(message: message, code: code)
    }
}
