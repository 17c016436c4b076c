import Foundation

/// How a project's budget limit is measured: over the project's whole life, or per UTC month.
public enum BudgetPeriod: String, Sendable, CaseIterable {
    case total
    case monthly
}

/// A project's budget as of now. `spent` and `reserved` are sums over the budget ledger for the
/// current period (computed by the store, never stored on the project), so they cannot drift.
public struct BudgetSummary: Sendable, Equatable {
    public let limit: Money?
    public let period: BudgetPeriod
    public let spent: Money
    public let reserved: Money
    /// Monthly: the first instant of the current UTC month; total: the project's creation.
    public let periodStart: Date

    public init(limit: Money?, period: BudgetPeriod, spent: Money, reserved: Money, periodStart: Date) {
        self.limit = limit
        self.period = period
        self.spent = spent
        self.reserved = reserved
        self.periodStart = periodStart
    }

    /// limit − spent − reserved; nil without a limit. Negative after an overrun was charged.
    public var remaining: Money? {
        limit.map { $0 - spent - reserved }
    }
}

public struct Project: Sendable, Equatable {
    public let id: UUID
    public let name: String
    public let description: String?
    public let archivedAt: Date?
    public let createdAt: Date
    public let updatedAt: Date
    /// Incremented on every update; the basis of the ETag.
    public let version: Int64
    public let budget: BudgetSummary
    /// The owner accepts spend the price list cannot price (a model OpenRouter or FAL serves that
    /// the list does not know): such a candidate is admitted, shown `unpriced`, never as $0.
    public let allowUnpriced: Bool

    public init(id: UUID, name: String, description: String?, archivedAt: Date?, createdAt: Date, updatedAt: Date,
                version: Int64, budget: BudgetSummary, allowUnpriced: Bool = false) {
        self.id = id
        self.name = name
        self.description = description
        self.archivedAt = archivedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.budget = budget
        self.allowUnpriced = allowUnpriced
    }

    /// A strong ETag over the whole representation: the version covers every stored field, the
    /// fingerprint the budget figures (spent, reserved, limit, period and its start), which change
    /// through the ledger without a new version. Equal tags mean equal representations.
    public var etag: EntityTag {
        EntityTag("v\(version)-" + budget.fingerprint)
    }
}

extension BudgetSummary {
    /// FNV-1a (64 bit) over the figures' exact text: deterministic across processes (unlike
    /// `Hasher`), and Domain has no cryptographic hash; a collision would need two different
    /// budgets of one project at one version, with odds of 2^-64.
    var fingerprint: String {
        let text = [limit?.jsonString ?? "-", period.rawValue, spent.jsonString, reserved.jsonString,
                    String(periodStart.timeIntervalSince1970)].joined(separator: "|")
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
