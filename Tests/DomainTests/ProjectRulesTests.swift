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
        XCTAssertThrowsError(try ProjectRules.newProject(["name": .int(3), "description": .bool(true),
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

    func testIfMatchParsing() throws {
        XCTAssertNil(try IfMatch.parse(nil))
        XCTAssertEqual(try IfMatch.parse("*"), .any)
        XCTAssertEqual(try IfMatch.parse("\"v7-ab\""), .tags([EntityTag("v7-ab")]))
        XCTAssertEqual(try IfMatch.parse(" \"a\" ,W/\"b\",  \"c\" "), .tags([EntityTag("a"), EntityTag("b", weak: true), EntityTag("c")]))
        for malformed in ["", "garbage", "v7", "\"a\" \"b\"", "\"a\",", "\"unterminated", "W/ \"a\"", "\"a b\"", "*, \"a\""] {
            XCTAssertThrowsError(try IfMatch.parse(malformed), malformed)
        }
    }

    func testIfMatchComparesStrongly() throws {
        let current = EntityTag("v3-0011")
        XCTAssertTrue(try XCTUnwrap(IfMatch.parse("\"v2-9999\", \"v3-0011\"")).isSatisfied(by: current), "any tag of a list may match")
        XCTAssertFalse(try XCTUnwrap(IfMatch.parse("W/\"v3-0011\"")).isSatisfied(by: current), "a weak tag never matches strongly")
        XCTAssertTrue(IfMatch.any.isSatisfied(by: current))
    }

    func testETagChangesWithTheBudgetFiguresAtOneVersion() throws {
        func project(spent: String, reserved: String) throws -> Project {
            let start = Date(timeIntervalSince1970: 1_764_547_200)
            return Project(id: UUID(), name: "P", description: nil, archivedAt: nil, createdAt: start, updatedAt: start, version: 4,
                           budget: BudgetSummary(limit: try Money(parsing: "10"), period: .monthly, spent: try Money(parsing: spent),
                                                 reserved: try Money(parsing: reserved), periodStart: start))
        }
        let before = try project(spent: "1", reserved: "0")
        XCTAssertEqual(before.etag, try project(spent: "1", reserved: "0").etag, "equal representations, equal tags")
        XCTAssertNotEqual(before.etag, try project(spent: "1.5", reserved: "0").etag)
        XCTAssertNotEqual(before.etag, try project(spent: "1", reserved: "0.25").etag)
        XCTAssertFalse(before.etag.isWeak)
        XCTAssertTrue(before.etag.opaque.hasPrefix("v4-"))
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
