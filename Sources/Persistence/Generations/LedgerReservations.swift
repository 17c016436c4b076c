import Domain
import Foundation

/// The engine's ledger port on `PostgresBudgetLedger`'s all-scopes functions (migration 021):
/// project, user monthly limit and provider monthly budget reserved, settled and released together,
/// and the provider scope moved to each fallback before it is tried (migration 080).
public struct LedgerReservations: BudgetReservations {
    let ledger: PostgresBudgetLedger

    public init(ledger: PostgresBudgetLedger) {
        self.ledger = ledger
    }

    public func reserve(project: UUID, generation: UUID, amount: Money, provider: ProviderID?, claimsJSON: String) throws -> ReservationOutcome {
        let reservation: ScopedReservation
        do {
            reservation = try ledger.reserve(project: project, generation: generation, amount: amount, provider: provider, claimsJSON: claimsJSON)
        } catch PostgresBudgetLedger.Refusal.notFound {
            throw DomainError.notFound(resource: "project")
        }
        return Self.outcome(of: reservation)
    }

    /// The engine's view of a reservation across scopes: refused, the scope without room;
    /// admitted (or refused without a named limit, which the ledger does not produce), the project's figures.
    static func outcome(of reservation: ScopedReservation) -> ReservationOutcome {
        if let shortfall = reservation.shortfall {
            return ReservationOutcome(admitted: false, scope: shortfall.scope.description, limit: shortfall.limit,
                                      spent: shortfall.spent, reserved: shortfall.reserved)
        }
        let project = reservation.scopes.first { $0.scope == .project } ?? reservation.scopes.first
        return ReservationOutcome(admitted: reservation.admitted, scope: (project?.scope ?? .project).description, limit: project?.limit,
                                  spent: project?.spent ?? .zero, reserved: project?.reserved ?? .zero)
    }

    public func settle(generation: UUID, cost: Money, provider: ProviderID?, claimsJSON: String) throws {
        do {
            _ = try ledger.settle(generation: generation, cost: cost, provider: provider, claimsJSON: claimsJSON)
        } catch PostgresBudgetLedger.Refusal.alreadyEnded {
            throw DomainError.conflict(code: "reservation_ended", detail: "The reservation was already settled or released.")
        }
    }

    public func release(generation: UUID, claimsJSON: String) throws {
        do {
            _ = try ledger.releaseAll(generation: generation, claimsJSON: claimsJSON)
        } catch PostgresBudgetLedger.Refusal.alreadyEnded {
            // Settled first (the provider's success won a race with a cancel): the charge stands.
        }
    }

    public func holdProvider(generation: UUID, amount: Money, provider: ProviderID, claimsJSON: String) throws -> ReservationOutcome {
        let held = try ledger.holdProvider(generation: generation, amount: amount, provider: provider, claimsJSON: claimsJSON)
        let scope = held.scopes.first
        return ReservationOutcome(admitted: held.admitted, scope: (scope?.scope ?? .provider(provider)).description, limit: scope?.limit,
                                  spent: scope?.spent ?? .zero, reserved: scope?.reserved ?? .zero)
    }

    public func charge(of generation: UUID, claimsJSON: String) throws -> Money? {
        try ledger.charge(of: generation, claimsJSON: claimsJSON)
    }

    public func endProviderScope(generation: UUID, cost: Money?, claimsJSON: String) throws {
        _ = try ledger.endProviderScope(generation: generation, cost: cost, claimsJSON: claimsJSON)
    }

    public var firstProviderHeldAtAdmission: Bool { true }
}
