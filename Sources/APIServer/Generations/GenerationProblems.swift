import Domain
import Foundation

extension GenerationHandlers {
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
