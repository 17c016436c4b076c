import Domain
import Foundation

/// A project on the wire. Ids are lower-case (Foundation would write upper-case); amounts are
/// exact decimal strings. The wire values are read from the project as they are written: a list
/// writes its page straight from the domain values (`ProjectBodiesJSON.swift`), with no copy of
/// each member first.
struct ProjectBody: Encodable {
    let project: Project

    init(_ project: Project) {
        self.project = project
    }

    var id: String { project.id.lowercasedString }
    var archived: Bool { project.archivedAt != nil }
    var budget: BudgetBody { BudgetBody(project.budget) }

    /// Optional members are written as null rather than left out, so every key is always present.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(project.name, forKey: .name)
        try container.encode(project.description, forKey: .description)
        try container.encode(archived, forKey: .archived)
        try container.encode(project.archivedAt, forKey: .archivedAt)
        try container.encode(budget, forKey: .budget)
        try container.encode(project.allowUnpriced, forKey: .allowUnpriced)
        try container.encode(project.version, forKey: .version)
        try container.encode(project.createdAt, forKey: .createdAt)
        try container.encode(project.updatedAt, forKey: .updatedAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, archived, archivedAt, budget, allowUnpriced, version, createdAt, updatedAt
    }
}

struct BudgetBody: Encodable {
    let summary: BudgetSummary

    init(_ summary: BudgetSummary) {
        self.summary = summary
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(summary.limit, forKey: .limit)
        try container.encode(summary.period.rawValue, forKey: .period)
        try container.encode(summary.spent, forKey: .spent)
        try container.encode(summary.reserved, forKey: .reserved)
        try container.encode(summary.remaining, forKey: .remaining)
        try container.encode(summary.periodStart, forKey: .periodStart)
    }

    enum CodingKeys: String, CodingKey {
        case limit, period, spent, reserved, remaining, periodStart
    }
}

struct ProjectPageBody: Encodable {
    /// The page's projects as they came (`data` wraps each only for Codable).
    let items: [Project]
    let nextCursor: String?

    init(_ page: ProjectPage) {
        items = page.items
        nextCursor = page.next?.token
    }

    var data: [ProjectBody] { items.map(ProjectBody.init) }

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
