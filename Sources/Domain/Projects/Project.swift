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

    public init(id: UUID, name: String, description: String?, archivedAt: Date?, createdAt: Date, updatedAt: Date,
                version: Int64, budget: BudgetSummary) {
        self.id = id
        self.name = name
        self.description = description
        self.archivedAt = archivedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.budget = budget
    }

    /// A strong ETag: the version changes with every write, so equal tags mean equal representations.
    public var etag: String { "\"v\(version)\"" }

    /// The version an `If-Match` header demands: nil for no header or `*` (any version);
    /// 0, which no row has, for a tag that is not ours, so the write fails with 412.
    public static func expectedVersion(ifMatch header: String?) -> Int64? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty, header != "*" else { return nil }
        var tag = Substring(header)
        if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
        guard tag.hasPrefix("\"v"), tag.hasSuffix("\""), tag.count > 3,
              let version = Int64(tag.dropFirst(2).dropLast()), version > 0 else { return 0 }
        return version
    }
}
