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

extension PostgresPricingStore {
    /// A stored version by id, current or not: a generation is charged with the version it was
    /// admitted under.
    public func version(id: String) throws -> PricingVersion? {
        let rows = try pool.withSharedReadScope { transaction in
            try transaction.query("select document::text as document from pricing.versions where id = \(id)")
        }
        guard let text = try rows.first?.decode("document", as: String.self) else { return nil }
        do {
            return try PricingCatalog.load(Data(text.utf8))
        } catch {
            throw DatabaseError(step: .statement, sqlState: nil, serverMessage: "stored pricing version does not load: \(error)")
        }
    }
}
