import Domain
import Foundation

/// The engine's ledger port on `PostgresBudgetLedger` (the `app_ledger` functions of migration 007).
public struct LedgerReservations: BudgetReservations {
    let ledger: PostgresBudgetLedger

    public init(ledger: PostgresBudgetLedger) {
        self.ledger = ledger
    }

    public func reserve(project: UUID, generation: UUID, amount: Money, claimsJSON: String) throws -> ReservationOutcome {
        do {
            let (admitted, outcome) = try ledger.reserve(project: project, generation: generation, amount: amount, claimsJSON: claimsJSON)
            return ReservationOutcome(admitted: admitted, scope: "project", limit: outcome.limit, spent: outcome.spent, reserved: outcome.reserved)
        } catch PostgresBudgetLedger.Refusal.notFound {
            throw DomainError.notFound(resource: "project")
        }
    }

    public func settle(generation: UUID, cost: Money, claimsJSON: String) throws {
        _ = try ledger.settle(generation: generation, cost: cost, claimsJSON: claimsJSON)
    }

    public func release(generation: UUID, claimsJSON: String) throws {
        _ = try ledger.release(generation: generation, claimsJSON: claimsJSON)
    }
}
