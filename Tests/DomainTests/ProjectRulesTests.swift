import Domain
import Foundation
import XCTest

final class ProjectRulesTests: XCTestCase {
    func testNewProjectIsTrimmedAndDefaultsToATotalBudget() throws {
        let project = try ProjectRules.newProject(["name": .string("  Film  "), "budget_limit": .string("0.0000000001")])
        XCTAssertEqual(project.name, "Film")
        XCTAssertEqual(project.budgetPeriod, .total)
        XCTAssertEqual(project.budgetLimit, try Money(parsing: "0.0000000001"))
    }

    func testEveryViolationIsReported() {
        XCTAssertThrowsError(try ProjectRules.newProject(["name": .integer(3), "description": .bool(true),
                                                          "budget_limit": .string("12.345678901234"), "budget_period": .string("daily")])) {
            guard case .validation(let errors) = $0 as? DomainError else { return XCTFail("\($0)") }
            XCTAssertEqual(errors.map(\.field), ["name", "description", "budget_limit", "budget_period"])
        }
    }

    func testLengthsCountUnicodeScalarsLikePostgreSQL() {
        // 61 user-perceived characters, 122 code points: too long for char_length(name) <= 120.
        XCTAssertThrowsError(try ProjectRules.newProject(["name": .string(String(repeating: "e\u{301}", count: 61))]))
        XCTAssertThrowsError(try ProjectRules.newProject(["name": .string("a\u{0}b")])) {
            guard case .validation(let errors) = $0 as? DomainError else { return XCTFail("\($0)") }
            XCTAssertEqual(errors.map(\.code), ["invalid_characters"])
        }
    }

    func testChangesDistinguishAbsentFromNull() throws {
        let changes = try ProjectRules.changes(["description": .null, "budget_limit": .string("5")])
        XCTAssertEqual(changes.description, .clear)
        XCTAssertEqual(changes.budgetLimit, .set(try Money(parsing: "5")))
        XCTAssertNil(changes.name)
        XCTAssertTrue(try ProjectRules.changes([:]).isEmpty)
    }

    func testIfMatchParsing() {
        XCTAssertNil(Project.expectedVersion(ifMatch: nil))
        XCTAssertNil(Project.expectedVersion(ifMatch: "*"))
        XCTAssertEqual(Project.expectedVersion(ifMatch: "\"v7\""), 7)
        XCTAssertEqual(Project.expectedVersion(ifMatch: "W/\"v7\""), 7)
        XCTAssertEqual(Project.expectedVersion(ifMatch: "\"abc\""), 0, "a foreign tag can never match")
    }

    func testCursorRoundTripsAndRefusesForeignTokens() throws {
        let cursor = ProjectCursor(sort: .updatedAt, key: "1764067200123456", id: UUID())
        XCTAssertEqual(try ProjectCursor(token: cursor.token, sort: .updatedAt), cursor)
        XCTAssertFalse(cursor.token.contains("="))
        XCTAssertThrowsError(try ProjectCursor(token: cursor.token, sort: .name))
        XCTAssertThrowsError(try ProjectCursor(token: ProjectCursor(sort: .updatedAt, key: "soon", id: UUID()).token, sort: .updatedAt))
        XCTAssertThrowsError(try ProjectCursor(token: "!!", sort: .name))
    }

    func testListQueryDefaultsAndLimits() throws {
        let query = try ProjectListQuery(archived: nil, search: "  ", sort: nil, limit: nil, cursor: nil)
        XCTAssertEqual(query.archived, .active)
        XCTAssertEqual(query.sort, .updatedAt)
        XCTAssertEqual(query.limit, 20)
        XCTAssertNil(query.search)
        XCTAssertThrowsError(try ProjectListQuery(archived: "no", search: nil, sort: "size", limit: "0", cursor: nil)) {
            guard case .validation(let errors) = $0 as? DomainError else { return XCTFail("\($0)") }
            XCTAssertEqual(errors.map(\.field), ["archived", "sort", "limit"])
        }
    }
}
