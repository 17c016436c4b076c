@testable import APIServer
import Foundation
import TestSupport
import XCTest

final class ProjectTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    func testCreateReadUpdateDeleteWithExactBudgetAndSummary() throws {
        let ada = try server.signUp("ada@example.com")
        let created = try server.send("POST", "/v1/projects", ["name": "  Launch video  ", "description": "Q3 campaign",
                                                               "budget_limit": "12.3456789012", "budget_period": "monthly"],
                                      token: ada.accessToken)
        XCTAssertEqual(created.status, 201, created.text)
        XCTAssertTrue(created.header("etag")?.hasPrefix("\"v1-") == true, "\(created.headers)")
        let project = try created.json()
        let id = try XCTUnwrap(project["id"] as? String)
        XCTAssertEqual(id, id.lowercased(), "ids are lower-case")
        XCTAssertEqual(created.header("location"), "/v1/projects/\(id)")
        XCTAssertEqual(project["name"] as? String, "Launch video", "the name is stored trimmed")
        XCTAssertEqual(project["description"] as? String, "Q3 campaign")
        XCTAssertEqual(project["archived"] as? Bool, false)
        XCTAssertTrue(project["archived_at"] is NSNull)
        XCTAssertEqual(project["version"] as? Int, 1)
        let budget = try XCTUnwrap(project["budget"] as? [String: Any])
        XCTAssertEqual(budget["limit"] as? String, "12.3456789012", "amounts round-trip exactly as strings")
        XCTAssertEqual(budget["period"] as? String, "monthly")
        XCTAssertEqual(budget["spent"] as? String, "0.00")
        XCTAssertEqual(budget["reserved"] as? String, "0.00")
        XCTAssertEqual(budget["remaining"] as? String, "12.3456789012")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let monthStart = calendar.date(from: calendar.dateComponents([.year, .month], from: Date()))!
        XCTAssertEqual(budget["period_start"] as? String, Timestamp.rfc3339(monthStart))

        let read = try server.send("GET", "/v1/projects/\(id)", token: ada.accessToken)
        XCTAssertEqual(read.status, 200)
        XCTAssertEqual(read.header("etag"), created.header("etag"), "an unchanged representation keeps its tag")
        XCTAssertEqual(try read.json()["name"] as? String, "Launch video")

        // Explicit null clears optional fields; absent fields are kept.
        let patched = try server.send("PATCH", "/v1/projects/\(id)", ["description": NSNull(), "budget_limit": NSNull(),
                                                                       "budget_period": "total"], token: ada.accessToken)
        XCTAssertEqual(patched.status, 200, patched.text)
        XCTAssertTrue(patched.header("etag")?.hasPrefix("\"v2-") == true, "\(patched.headers)")
        let after = try patched.json()
        XCTAssertTrue(after["description"] is NSNull)
        XCTAssertEqual(after["name"] as? String, "Launch video")
        let afterBudget = try XCTUnwrap(after["budget"] as? [String: Any])
        XCTAssertTrue(afterBudget["limit"] is NSNull)
        XCTAssertTrue(afterBudget["remaining"] is NSNull)
        XCTAssertEqual(afterBudget["period_start"] as? String, after["created_at"] as? String, "a total budget runs from creation")

        let limited = try server.send("PATCH", "/v1/projects/\(id)", ["budget_limit": "12.50"], token: ada.accessToken)
        XCTAssertEqual((try limited.json()["budget"] as? [String: Any])?["limit"] as? String, "12.50")

        XCTAssertEqual(try server.send("DELETE", "/v1/projects/\(id)", token: ada.accessToken).status, 204)
        assertAuthProblem(try server.send("GET", "/v1/projects/\(id)", token: ada.accessToken), 404, "not_found")
        assertAuthProblem(try server.send("DELETE", "/v1/projects/\(id)", token: ada.accessToken), 404, "not_found")
    }

    func testAnotherUsersProjectIsNotFound() throws {
        let ada = try server.signUp("ada@example.com")
        let bob = try server.signUp("bob@example.com")
        let id = try XCTUnwrap(try server.createProject(["name": "Secret"], token: ada.accessToken)["id"] as? String)
        assertAuthProblem(try server.send("GET", "/v1/projects/\(id)", token: bob.accessToken), 404, "not_found")
        assertAuthProblem(try server.send("PATCH", "/v1/projects/\(id)", ["name": "Mine now"], token: bob.accessToken), 404, "not_found")
        assertAuthProblem(try server.send("DELETE", "/v1/projects/\(id)", token: bob.accessToken), 404, "not_found")
        assertAuthProblem(try server.send("GET", "/v1/projects/not-a-uuid", token: ada.accessToken), 404, "not_found")
        assertAuthProblem(try server.send("PATCH", "/v1/projects/not-a-uuid", ["name": "x"], token: ada.accessToken), 404, "not_found")
        XCTAssertEqual(try server.listAll("archived=all", token: bob.accessToken).count, 0)
        let mine = try server.send("GET", "/v1/projects/\(id)", token: ada.accessToken)
        XCTAssertEqual(try mine.json()["name"] as? String, "Secret", "untouched by the other user")
        XCTAssertTrue(mine.header("etag")?.hasPrefix("\"v1-") == true, "\(mine.headers)")
        assertAuthProblem(try server.send("GET", "/v1/projects", token: "not a token"), 401, "bad_jwt")
    }

    func testValidationReportsEveryFieldInOneProblem() throws {
        let ada = try server.signUp("ada@example.com")
        let response = try server.send("POST", "/v1/projects", ["name": "   ", "description": String(repeating: "d", count: 2_001),
                                                                "budget_limit": "-1", "budget_period": "weekly"], token: ada.accessToken)
        assertAuthProblem(response, 422, "validation_failed")
        let errors = try XCTUnwrap(try response.json()["errors"] as? [[String: Any]])
        let codes = Dictionary(uniqueKeysWithValues: errors.map { ($0["field"] as? String ?? "", $0["code"] as? String ?? "") })
        XCTAssertEqual(codes, ["name": "invalid_length", "description": "too_long", "budget_limit": "amount_negative",
                               "budget_period": "invalid_budget_period"])
        XCTAssertTrue(errors.allSatisfy { !($0["message"] as? String ?? "").isEmpty })

        let more = try server.send("POST", "/v1/projects", ["name": String(repeating: "n", count: 121), "budget_limit": "1.12345678901"],
                                   token: ada.accessToken)
        let moreCodes = (try more.json()["errors"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
        XCTAssertEqual(moreCodes, ["invalid_length", "amount_too_many_decimals"])
        let missing = try server.send("POST", "/v1/projects", ["budget_limit": 12.5], token: ada.accessToken)
        XCTAssertEqual((try missing.json()["errors"] as? [[String: Any]])?.compactMap { $0["code"] as? String }, ["required", "invalid_type"])
        XCTAssertEqual(try server.createProject(["name": String(repeating: "é", count: 120), "budget_limit": "0"], token: ada.accessToken)["name"]
            as? String, String(repeating: "é", count: 120), "120 characters is allowed")

        let id = try XCTUnwrap(try server.createProject(["name": "Ok"], token: ada.accessToken)["id"] as? String)
        let badPatch = try server.send("PATCH", "/v1/projects/\(id)", ["name": "", "archived": "yes", "budget_limit": "1e3"], token: ada.accessToken)
        assertAuthProblem(badPatch, 422, "validation_failed")
        XCTAssertEqual((try badPatch.json()["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String }.sorted(),
                       ["archived", "budget_limit", "name"])
        assertAuthProblem(try server.send("GET", "/v1/projects?limit=101", token: ada.accessToken), 422, "validation_failed")
        assertAuthProblem(try server.send("GET", "/v1/projects?sort=size&archived=maybe", token: ada.accessToken), 422, "validation_failed")
    }

    func testPaginationIsStableWhileRowsAreInserted() throws {
        let ada = try server.signUp("ada@example.com")
        var original: [String] = []
        for index in 0..<25 {
            original.append(try XCTUnwrap(try server.createProject(["name": String(format: "Project %02d", index)], token: ada.accessToken)["id"] as? String))
        }
        for sort in ["updated_at", "name"] {
            var inserted = 0
            let seen = try server.listAll("limit=10&sort=\(sort)", token: ada.accessToken) {
                // New rows land both before and after the cursor's position in either order.
                try self.server.createProject(["name": "AAA new \(sort) \(inserted)"], token: ada.accessToken)
                try self.server.createProject(["name": "zzz new \(sort) \(inserted)"], token: ada.accessToken)
                inserted += 1
            }
            let ids = seen.compactMap { $0["id"] as? String }
            XCTAssertEqual(ids.count, Set(ids).count, "no duplicates (\(sort))")
            XCTAssertEqual(Set(original).subtracting(ids), [], "no original row skipped (\(sort))")
        }
        let firstPage = try server.send("GET", "/v1/projects?limit=10", token: ada.accessToken)
        XCTAssertEqual((try firstPage.json()["data"] as? [Any])?.count, 10)
        XCTAssertNotNil(try firstPage.json()["next_cursor"] as? String)
    }

    func testSortSearchAndArchivedFilter() throws {
        let ada = try server.signUp("ada@example.com")
        let beta = try XCTUnwrap(try server.createProject(["name": "beta Trailer"], token: ada.accessToken)["id"] as? String)
        try server.createProject(["name": "Alpha teaser"], token: ada.accessToken)
        try server.createProject(["name": "gamma 100%_done"], token: ada.accessToken)
        func names(_ query: String) throws -> [String] {
            try server.listAll(query, token: ada.accessToken).compactMap { $0["name"] as? String }
        }
        XCTAssertEqual(try names("sort=name"), ["Alpha teaser", "beta Trailer", "gamma 100%_done"], "case-insensitive A to Z")
        XCTAssertEqual(try names("sort=updated_at"), ["gamma 100%_done", "Alpha teaser", "beta Trailer"], "newest first")
        // Touching a project moves it to the front of updated_at.
        XCTAssertEqual(try server.send("PATCH", "/v1/projects/\(beta)", ["description": "cut 2"], token: ada.accessToken).status, 200)
        XCTAssertEqual(try names("sort=updated_at").first, "beta Trailer")

        XCTAssertEqual(try names("q=TRAIL"), ["beta Trailer"], "search is case-insensitive")
        XCTAssertEqual(try names("q=%25_"), ["gamma 100%_done"], "% and _ match literally")
        XCTAssertEqual(try names("q=e&sort=name"), ["Alpha teaser", "beta Trailer", "gamma 100%_done"])
        XCTAssertEqual(try names("q=nothing"), [])

        let archived = try server.send("PATCH", "/v1/projects/\(beta)", ["archived": true], token: ada.accessToken)
        XCTAssertEqual(try archived.json()["archived"] as? Bool, true)
        XCTAssertFalse(try archived.json()["archived_at"] is NSNull)
        XCTAssertEqual(try names("sort=name"), ["Alpha teaser", "gamma 100%_done"], "archived projects are hidden by default")
        XCTAssertEqual(try names("archived=true"), ["beta Trailer"])
        XCTAssertEqual(try names("archived=all&sort=name").count, 3)
        XCTAssertEqual(try server.send("PATCH", "/v1/projects/\(beta)", ["archived": false], token: ada.accessToken).status, 200)
        XCTAssertEqual(try names("archived=true"), [])
    }

    func testIfMatchGuardsWrites() throws {
        let ada = try server.signUp("ada@example.com")
        let created = try server.send("POST", "/v1/projects", ["name": "Draft"], token: ada.accessToken)
        let id = try XCTUnwrap(try created.json()["id"] as? String)
        let v1 = try XCTUnwrap(created.header("etag"))
        let first = try server.send("PATCH", "/v1/projects/\(id)", ["name": "Draft 2"], token: ada.accessToken, headers: ["If-Match": v1])
        XCTAssertEqual(first.status, 200, first.text)
        let v2 = try XCTUnwrap(first.header("etag"))
        XCTAssertNotEqual(v2, v1)
        assertAuthProblem(try server.send("PATCH", "/v1/projects/\(id)", ["name": "Lost update"], token: ada.accessToken,
                                          headers: ["If-Match": v1]), 412, "precondition_failed")
        assertAuthProblem(try server.send("PATCH", "/v1/projects/\(id)", ["name": "Lost update"], token: ada.accessToken,
                                          headers: ["If-Match": "\"not-ours\""]), 412, "precondition_failed")
        assertAuthProblem(try server.send("DELETE", "/v1/projects/\(id)", token: ada.accessToken, headers: ["If-Match": v1]),
                          412, "precondition_failed")
        XCTAssertEqual(try server.send("GET", "/v1/projects/\(id)", token: ada.accessToken).json()["name"] as? String, "Draft 2")
        let empty = try server.send("PATCH", "/v1/projects/\(id)", [:], token: ada.accessToken, headers: ["If-Match": v2])
        XCTAssertEqual(empty.header("etag"), v2, "an empty change writes nothing")
        let any = try server.send("PATCH", "/v1/projects/\(id)", ["name": "Any"], token: ada.accessToken, headers: ["If-Match": "*"])
        XCTAssertEqual(any.status, 200)
        XCTAssertEqual(try server.send("DELETE", "/v1/projects/\(id)", token: ada.accessToken, headers: ["If-Match": try XCTUnwrap(any.header("etag"))]).status, 204)
    }

    func testBadCursorIsA400() throws {
        let ada = try server.signUp("ada@example.com")
        for index in 0..<3 { try server.createProject(["name": "P\(index)"], token: ada.accessToken) }
        let page = try server.send("GET", "/v1/projects?limit=2&sort=name", token: ada.accessToken)
        let cursor = try XCTUnwrap(try page.json()["next_cursor"] as? String)
        XCTAssertEqual(try server.send("GET", "/v1/projects?limit=2&sort=name&cursor=\(cursor)", token: ada.accessToken).status, 200)
        assertAuthProblem(try server.send("GET", "/v1/projects?cursor=\(cursor)", token: ada.accessToken), 400, "bad_cursor")
        assertAuthProblem(try server.send("GET", "/v1/projects?cursor=bm90LWpzb24", token: ada.accessToken), 400, "bad_cursor")
        assertAuthProblem(try server.send("GET", "/v1/projects?cursor=%21%21", token: ada.accessToken), 400, "bad_cursor")
    }
}
