import Domain
import Foundation

/// The budget ledger's three steps, each one call of an `app_ledger` function (migration 007) in
/// the user's scope: one round trip, with the ownership check, the project lock, the budget
/// check and the append done inside the database. Users cannot write ledger rows any other way.
public struct PostgresBudgetLedger: Sendable {
    /// What a step leaves behind: the entry it appended and the project's figures after it.
    public struct Outcome: Sendable, Equatable {
        /// The reservation (reserve), the charge (settle) or the release (release); nil when a
        /// reservation was refused.
        public let entryID: UUID?
        public let limit: Money?
        public let spent: Money
        public let reserved: Money
    }

    /// Why the database refused a step.
    public enum Refusal: Error, Equatable {
        /// The project (reserve) or the reservation (settle, release) does not exist for this user.
        case notFound
        /// The generation already has a reservation.
        case alreadyReserved
        /// The reservation was already settled or released.
        case alreadyEnded
        /// A negative amount, or more than 10 decimals.
        case invalidAmount
    }

    let pool: ConnectionPool

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// Holds `amount` for `generation`. Returns `admitted: false` (and writes nothing) when
    /// spent + reserved + amount would exceed the project's limit in its current period.
    public func reserve(project: UUID, generation: UUID, amount: Money, claimsJSON: String) throws -> (admitted: Bool, outcome: Outcome) {
        let row = try call(claimsJSON, """
            select entry_id, admitted, budget_limit, spent, reserved from app_ledger.reserve(\(project), \(generation), \(amount.amount)::numeric)
            """)
        return (try row.decode("admitted"), try Self.outcome(row))
    }

    /// Ends the generation's reservation and charges its actual cost (which may exceed it).
    public func settle(generation: UUID, cost: Money, claimsJSON: String) throws -> Outcome {
        try Self.outcome(try call(claimsJSON, """
            select entry_id, budget_limit, spent, reserved from app_ledger.settle(\(generation), \(cost.amount)::numeric)
            """))
    }

    /// Ends the generation's reservation without a charge.
    public func release(generation: UUID, claimsJSON: String) throws -> Outcome {
        try Self.outcome(try call(claimsJSON, """
            select entry_id, budget_limit, spent, reserved from app_ledger.release(\(generation))
            """))
    }

    private func call(_ claimsJSON: String, _ statement: SQL) throws -> PostgresRow {
        guard let row = try callRows(claimsJSON, statement).first else { throw Refusal.notFound }
        return row
    }

    func callRows(_ claimsJSON: String, _ statement: SQL) throws -> [PostgresRow] {
        do {
            // One statement: BEGIN, the scope, the call and COMMIT in one round trip.
            return try pool.userScopeRoundTrip(claimsJSON: claimsJSON, [statement]).first ?? []
        } catch let error as DatabaseError {
            switch error.sqlState {
            case "P0002": throw Refusal.notFound
            case "23505": throw Refusal.alreadyReserved
            case "55000": throw Refusal.alreadyEnded
            case "22023": throw Refusal.invalidAmount
            default: throw error
            }
        }
    }

    private static func outcome(_ row: PostgresRow) throws -> Outcome {
        Outcome(entryID: try row.decodeIfPresent("entry_id"),
                limit: try row.decodeIfPresent("budget_limit", as: Decimal.self).map(Money.init(roundingToMaximumScale:)),
                spent: Money(roundingToMaximumScale: try row.decode("spent")),
                reserved: Money(roundingToMaximumScale: try row.decode("reserved")))
    }
}
