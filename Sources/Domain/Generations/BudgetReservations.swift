import Foundation

/// The budget ledger as the engine uses it: one call per step, each atomic in the database, and
/// each on every scope the generation counts against (project, the user's monthly limit, the
/// provider configuration's monthly budget).
public protocol BudgetReservations: Sendable {
    /// Holds `amount` on the project, the user scope and `provider`'s scope at once, or on none;
    /// refused: `scope` names the scope without room.
    func reserve(project: UUID, generation: UUID, amount: Money, provider: ProviderID?, claimsJSON: String) throws -> ReservationOutcome
    /// Ends the reservation on every scope and charges `cost`; `provider` is the one that served
    /// (after a fallback, not the reserved one), nil: the reserved one.
    func settle(generation: UUID, cost: Money, provider: ProviderID?, claimsJSON: String) throws
    /// Ends the reservation on every scope without a charge.
    func release(generation: UUID, claimsJSON: String) throws
}

public struct ReservationOutcome: Sendable, Equatable {
    public let admitted: Bool
    public let scope: String
    public let limit: Money?
    public let spent: Money
    public let reserved: Money

    public init(admitted: Bool, scope: String, limit: Money?, spent: Money, reserved: Money) {
        self.admitted = admitted
        self.scope = scope
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
    }
}
