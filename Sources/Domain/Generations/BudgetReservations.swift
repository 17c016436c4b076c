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
    /// Ends the reservation on every scope without a charge. A reservation already ended (a
    /// cancel racing a settle) is left as it is.
    func release(generation: UUID, claimsJSON: String) throws
    /// Before a candidate is tried: holds `amount` on `provider`'s monthly budget scope and
    /// releases the provider scope held before, atomically; refused (nothing written) when that
    /// scope has no room. Already held there: admitted, nothing changes.
    func holdProvider(generation: UUID, amount: Money, provider: ProviderID, claimsJSON: String) throws -> ReservationOutcome
    /// What the generation was charged, once its settle has committed (nil: not charged yet).
    func charge(of generation: UUID, claimsJSON: String) throws -> Money?
    /// Whether admission already holds the first candidate's provider scope, so the first attempt
    /// needs no `holdProvider` (one round trip fewer on the common path).
    var firstProviderHeldAtAdmission: Bool { get }
    /// Ends the provider-scope reservation `holdProvider` made for a generation without a project
    /// reservation of its own (a batch item), charging `cost` there when given.
    func endProviderScope(generation: UUID, cost: Money?, claimsJSON: String) throws
    /// Whether a generation's end settles only its provider scope (`endProviderScope`: a batch
    /// item, whose batch holds the project and user scopes) rather than every scope (`settle`).
    var settlesProviderScopeOnly: Bool { get }
}

extension BudgetReservations {
    public var settlesProviderScopeOnly: Bool { false }
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
