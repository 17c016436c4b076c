import Foundation

/// The user's own monthly limit across all projects (the ledger's `user` scope, reserved on at
/// every admission beside the project and the provider) and this UTC month's figures against it.
public struct UserBudget: Sendable, Equatable {
    /// nil: no limit.
    public let monthlyLimit: Money?
    public let spent: Money
    public let reserved: Money

    public init(monthlyLimit: Money?, spent: Money, reserved: Money) {
        self.monthlyLimit = monthlyLimit
        self.spent = spent
        self.reserved = reserved
    }

    /// limit − spent − reserved; nil without a limit.
    public var remaining: Money? { monthlyLimit.map { $0 - spent - reserved } }
}

/// Where the limit is kept and the user scope's figures are read, acting as the user.
public protocol UserBudgetStore: Sendable {
    func userBudget(claimsJSON: String) throws -> UserBudget
    func setUserMonthlyLimit(_ limit: Money?, claimsJSON: String) throws
}

/// `GET/PUT /v1/user-budget`.
public struct UserBudgetService: Sendable {
    public let store: any UserBudgetStore

    public init(store: any UserBudgetStore) {
        self.store = store
    }

    public func get(as identity: AuthenticatedIdentity) throws -> UserBudget {
        try store.userBudget(claimsJSON: identity.claimsJSON)
    }

    /// `body` holds `monthly_limit`: a decimal string, or null for no limit. It is required, so
    /// a PUT never clears the limit by leaving the member out.
    public func put(_ body: WireJSONObject, as identity: AuthenticatedIdentity) throws -> UserBudget {
        let limit: Money?
        switch body["monthly_limit"] {
        case .null?: limit = nil
        case .string(let text)?:
            do throws(MoneyFormatError) {
                limit = try Money(parsing: text)
            } catch {
                throw DomainError.validation([error.fieldError("monthly_limit")])
            }
        case nil:
            throw DomainError.validation([FieldError(field: "monthly_limit", code: "required",
                                                     message: "monthly_limit is required: a decimal string such as \"100.00\", or null for no limit.")])
        default:
            throw DomainError.validation([FieldError(field: "monthly_limit", code: "invalid_type",
                                                     message: "monthly_limit must be a decimal string such as \"100.00\", or null.")])
        }
        try store.setUserMonthlyLimit(limit, claimsJSON: identity.claimsJSON)
        return try store.userBudget(claimsJSON: identity.claimsJSON)
    }
}
