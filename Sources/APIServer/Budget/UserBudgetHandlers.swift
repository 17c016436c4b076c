import Domain
import Foundation

/// `GET/PUT /v1/user-budget`: the caller's monthly limit across all projects and this month's
/// spend against it.
struct UserBudgetHandlers: Sendable {
    let service: UserBudgetService
    let authenticator: Authenticator

    func get(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        return try .json(UserBudgetBody(try service.get(as: identity)))
    }

    func put(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        // The members as sent (null kept apart from absent); `decodeBody` refuses any other member.
        let body = try request.decodeBody(ProjectFields<UserBudgetKeys>.self).members
        return try .json(UserBudgetBody(try service.put(body, as: identity)))
    }
}

/// The members of `PUT /v1/user-budget`.
enum UserBudgetKeys: String, CodingKey, CaseIterable {
    case monthlyLimit = "monthly_limit"
}

/// Every key always present (null when there is no limit).
private struct UserBudgetBody: Encodable {
    let budget: UserBudget

    init(_ budget: UserBudget) {
        self.budget = budget
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(budget.monthlyLimit, forKey: .monthlyLimit)
        try container.encode(budget.spent, forKey: .spent)
        try container.encode(budget.reserved, forKey: .reserved)
        try container.encode(budget.remaining, forKey: .remaining)
        try container.encode("monthly", forKey: .period)
    }

    enum CodingKeys: String, CodingKey {
        case monthlyLimit, spent, reserved, remaining, period
    }
}
