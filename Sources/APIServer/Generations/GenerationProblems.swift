import Domain
import Foundation

extension GenerationHandlers {
    /// The longest a refusal tells a client to wait (a provider's own 429 may ask for hours).
    static let maximumRetryAfterSeconds = 3600

    /// Seconds until the first candidate skipped only for a while takes requests again (at least
    /// one), or nil when none was: then no retry can succeed and the refusal is final.
    static func retryAfterSeconds(_ skipped: [GenerationPlan.Skipped], now: Date = Date()) -> Int? {
        guard let soonest = skipped.filter(\.onlyForAWhile).compactMap(\.retryAt).min() else { return nil }
        let seconds = soonest.timeIntervalSince(now).rounded(.up)
        guard seconds.isFinite, seconds > 1 else { return 1 }
        return Int(min(seconds, Double(maximumRetryAfterSeconds)))
    }

    /// The problem an admission refusal is answered with.
    static func problem(_ refusal: AdmissionRefusal) -> Problem {
        switch refusal {
        case let .budgetExceeded(scope, limit, spent, reserved, needed, shortfall):
            var problem = Problem(status: 402, code: "budget_exceeded", title: "Payment Required",
                                  detail: "The \(scope) budget of \(limit.jsonString) USD has \(spent.jsonString) spent and "
                                      + "\(reserved.jsonString) reserved; this generation needs \(needed.jsonString), "
                                      + "\(shortfall.jsonString) more than is left.")
            problem.budget = ProblemBudget(scope: scope, limit: limit.jsonString, spent: spent.jsonString, reserved: reserved.jsonString,
                                           required: needed.jsonString, shortfall: shortfall.jsonString)
            return problem
        case let .noCandidate(unpriced, skipped):
            if let wait = retryAfterSeconds(skipped) {
                // A candidate will take requests again: a status SDKs retry, after the wait, and never
                // a final answer stored under an Idempotency-Key.
                let names = skipped.filter(\.onlyForAWhile).map { "\($0.provider.rawValue)/\($0.model) (\($0.reasons.joined(separator: ", ")))" }
                return Problem(status: 429, code: "providers_unavailable", title: "Too Many Requests",
                               detail: "Every provider that could take this request is rate-limited or cooling down after failures: "
                                   + names.joined(separator: "; ") + ". Retry after \(wait) s.",
                               headers: [("Retry-After", String(wait))])
            }
            let reasons = skipped.map { "\($0.provider.rawValue)/\($0.model): \($0.reasons.joined(separator: ", "))" }
            let errors = skipped.map { FieldError(field: "provider", code: $0.reasons.first ?? "skipped",
                                                  message: "\($0.provider.rawValue)/\($0.model): \($0.reasons.joined(separator: ", "))") }
            if unpriced {
                return Problem(status: 422, code: "unpriced", title: "Unprocessable Content",
                               detail: "No price is known for this request, so it cannot be reserved: " + reasons.joined(separator: "; "),
                               errors: errors)
            }
            return Problem(status: 422, code: "no_admissible_provider", title: "Unprocessable Content",
                           detail: "No provider can take this request: " + reasons.joined(separator: "; "), errors: errors)
        }
    }
}
