import Domain
import Foundation

/// A project on the wire. Ids are lower-case (Foundation would write upper-case); amounts are
/// exact decimal strings.
struct ProjectBody: Encodable {
    let id: String
    let name: String
    let description: String?
    let archived: Bool
    let archivedAt: Date?
    let budget: BudgetBody
    let allowUnpriced: Bool
    let version: Int64
    let createdAt: Date
    let updatedAt: Date

    init(_ project: Project) {
        id = project.id.lowercasedString
        name = project.name
        description = project.description
        archived = project.archivedAt != nil
        archivedAt = project.archivedAt
        budget = BudgetBody(project.budget)
        allowUnpriced = project.allowUnpriced
        version = project.version
        createdAt = project.createdAt
        updatedAt = project.updatedAt
    }

    /// Optional members are written as null rather than left out, so every key is always present.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(archived, forKey: .archived)
        try container.encode(archivedAt, forKey: .archivedAt)
        try container.encode(budget, forKey: .budget)
        try container.encode(allowUnpriced, forKey: .allowUnpriced)
        try container.encode(version, forKey: .version)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, archived, archivedAt, budget, allowUnpriced, version, createdAt, updatedAt
    }
}

struct BudgetBody: Encodable {
    let limit: Money?
    let period: String
    let spent: Money
    let reserved: Money
    let remaining: Money?
    let periodStart: Date

    init(_ summary: BudgetSummary) {
        limit = summary.limit
        period = summary.period.rawValue
        spent = summary.spent
        reserved = summary.reserved
        remaining = summary.remaining
        periodStart = summary.periodStart
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(limit, forKey: .limit)
        try container.encode(period, forKey: .period)
        try container.encode(spent, forKey: .spent)
        try container.encode(reserved, forKey: .reserved)
        try container.encode(remaining, forKey: .remaining)
        try container.encode(periodStart, forKey: .periodStart)
    }

    enum CodingKeys: String, CodingKey {
        case limit, period, spent, reserved, remaining, periodStart
    }
}

struct ProjectPageBody: Encodable {
    let data: [ProjectBody]
    let nextCursor: String?

    init(_ page: ProjectPage) {
        data = page.items.map(ProjectBody.init)
        nextCursor = page.next?.token
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextCursor, forKey: .nextCursor)
    }

    enum CodingKeys: String, CodingKey {
        case data, nextCursor
    }
}

/// A project body as its members were sent (an explicit null kept apart from an absent member),
/// so the domain rules report wrong types per field; `decodeBody` refuses members not in `Keys`.
struct ProjectFields<Keys: CodingKey & CaseIterable>: Decodable {
    let members: WireJSONObject

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        var members = WireJSONObject()
        for key in Keys.allCases where container.contains(key) {
            members[key.stringValue] = try container.decodeNil(forKey: key) ? .null : try container.decode(WireJSON.self, forKey: key)
        }
        self.members = members
    }
}

/// The members of `POST /v1/projects`.
enum NewProjectKeys: String, CodingKey, CaseIterable {
    case name, description
    case budgetLimit = "budget_limit"
    case budgetPeriod = "budget_period"
    case allowUnpriced = "allow_unpriced"
}

/// The members of `PATCH /v1/projects/{id}`.
enum ProjectChangeKeys: String, CodingKey, CaseIterable {
    case name, description, archived
    case budgetLimit = "budget_limit"
    case budgetPeriod = "budget_period"
    case allowUnpriced = "allow_unpriced"
}
