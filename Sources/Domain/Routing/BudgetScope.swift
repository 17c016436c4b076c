import Foundation

/// A budget a generation's cost counts against. Admission reserves on every scope at once.
public enum BudgetScope: Sendable, Hashable, CustomStringConvertible {
    /// The project's budget (total or monthly).
    case project
    /// The user's own monthly limit across all projects.
    case user
    /// The monthly budget of the user's configuration for one provider.
    case provider(ProviderID)

    /// The ledger's spelling: `project`, `user`, `provider:<id>`.
    public var description: String {
        switch self {
        case .project: "project"
        case .user: "user"
        case .provider(let provider): "provider:\(provider.rawValue)"
        }
    }

    public init?(ledgerName: String) {
        switch ledgerName {
        case "project": self = .project
        case "user": self = .user
        default:
            guard ledgerName.hasPrefix("provider:"), let provider = ProviderID(rawValue: String(ledgerName.dropFirst("provider:".count))) else {
                return nil
            }
            self = .provider(provider)
        }
    }
}

/// One scope's figures after a ledger step (before it, for a refused reservation).
public struct ScopeFigures: Sendable, Equatable {
    public let scope: BudgetScope
    /// The entry the step appended on this scope (nil when refused).
    public let entryID: UUID?
    public let limit: Money?
    public let spent: Money
    public let reserved: Money
    /// Whether this scope had room for the reservation (always true after settle/release).
    public let fits: Bool

    public init(scope: BudgetScope, entryID: UUID?, limit: Money?, spent: Money, reserved: Money, fits: Bool = true) {
        self.scope = scope
        self.entryID = entryID
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.fits = fits
    }

    public var remaining: Money? { limit.map { $0 - spent - reserved } }
}

/// Why a reservation was refused: the first scope without room (project, then provider, then
/// user), its limit and how much was missing — what 402 `budget_exceeded` tells the client.
public struct BudgetShortfall: Sendable, Equatable {
    public let scope: BudgetScope
    public let limit: Money
    public let spent: Money
    public let reserved: Money
    /// spent + reserved + amount − limit.
    public let shortfall: Money

    public init(scope: BudgetScope, limit: Money, spent: Money, reserved: Money, shortfall: Money) {
        self.scope = scope
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.shortfall = shortfall
    }
}

/// The outcome of one all-scopes reservation.
public struct ScopedReservation: Sendable, Equatable {
    public let admitted: Bool
    /// Project first, then the other scopes in lock order.
    public let scopes: [ScopeFigures]
    public let amount: Money

    public init(admitted: Bool, scopes: [ScopeFigures], amount: Money) {
        self.admitted = admitted
        self.scopes = scopes
        self.amount = amount
    }

    /// nil when admitted.
    public var shortfall: BudgetShortfall? {
        guard !admitted else { return nil }
        let order: (BudgetScope) -> Int = { scope in
            switch scope {
            case .project: 0
            case .provider: 1
            case .user: 2
            }
        }
        guard let refusing = scopes.filter({ !$0.fits }).min(by: { order($0.scope) < order($1.scope) }), let limit = refusing.limit else {
            return nil
        }
        return BudgetShortfall(scope: refusing.scope, limit: limit, spent: refusing.spent, reserved: refusing.reserved,
                               shortfall: refusing.spent + refusing.reserved + amount - limit)
    }
}
