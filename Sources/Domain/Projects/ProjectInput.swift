import Foundation

/// One field of a partial update: absent (keep), explicit JSON null (clear), or a new value.
public enum FieldUpdate<Value: Sendable & Equatable>: Sendable, Equatable {
    case unchanged
    case clear
    case set(Value)
}

/// A validated `POST /v1/projects` body.
public struct NewProject: Sendable, Equatable {
    public let name: String
    public let description: String?
    public let budgetLimit: Money?
    public let budgetPeriod: BudgetPeriod
    public var allowUnpriced = false
}

/// A validated `PATCH /v1/projects/{id}` body. Name and period cannot be cleared, only replaced.
public struct ProjectChanges: Sendable, Equatable {
    public var name: String?
    public var description: FieldUpdate<String> = .unchanged
    public var budgetLimit: FieldUpdate<Money> = .unchanged
    public var budgetPeriod: BudgetPeriod?
    /// true archives (keeping the first archive time), false restores.
    public var archived: Bool?
    public var allowUnpriced: Bool?

    public var isEmpty: Bool {
        name == nil && description == .unchanged && budgetLimit == .unchanged && budgetPeriod == nil && archived == nil
            && allowUnpriced == nil
    }
}
