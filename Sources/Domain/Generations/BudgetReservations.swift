import Foundation

/// The budget ledger as the engine uses it: one call per step, each atomic in the database.
public protocol BudgetReservations: Sendable {
    func reserve(project: UUID, generation: UUID, amount: Money, claimsJSON: String) throws -> ReservationOutcome
    func settle(generation: UUID, cost: Money, claimsJSON: String) throws
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
