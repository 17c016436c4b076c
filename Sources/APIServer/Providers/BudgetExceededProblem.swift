import Domain
import Foundation

extension Problem {
    /// 402 `budget_exceeded` for a refused all-scopes reservation: which budget, its limit and
    /// how much was missing, in words a person can act on (the admission contract).
    static func budgetExceeded(_ shortfall: BudgetShortfall) -> Problem {
        let budget: String
        switch shortfall.scope {
        case .project: budget = "The project's budget"
        case .user: budget = "Your monthly limit"
        case .provider(let provider): budget = "Your monthly budget for \(provider.displayName)"
        }
        return Problem(status: 402, code: "budget_exceeded", title: "Payment Required",
                       detail: "\(budget) (scope \(shortfall.scope)) of \(shortfall.limit) USD is short by \(shortfall.shortfall) USD "
                           + "for this generation (spent \(shortfall.spent), reserved \(shortfall.reserved)).")
    }
}
