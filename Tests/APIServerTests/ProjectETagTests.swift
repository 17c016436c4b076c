@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

/// The project ETag is strong and covers the budget figures; `If-Match` takes a list, `*`, and
/// refuses a malformed header with 400.
final class ProjectETagTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    func testETagChangesWhenTheLedgerChangesTheBudgetAndAStaleTagIsRefused() throws {
        let ada = try server.signUp("etag@example.com")
        let created = try server.send("POST", "/v1/projects", ["name": "Ledger", "budget_limit": "10"], token: ada.accessToken)
        XCTAssertEqual(created.status, 201, created.text)
        let id = try XCTUnwrap(try created.json()["id"] as? String)
        let before = try XCTUnwrap(created.header("etag"))
        XCTAssertFalse(before.hasPrefix("W/"), "the tag is strong")

        // A charge lands in the ledger (as the generation engine will book it): no project write, no new version.
        let owner = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        let projectID = try XCTUnwrap(UUID(uuidString: id))
        let userID = try XCTUnwrap(UUID(uuidString: ada.userID))
        _ = try owner.query("insert into public.budget_ledger (user_id, project_id, kind, amount) values (\(userID), \(projectID), 'charge', 1.25)")

        let read = try server.send("GET", "/v1/projects/\(id)", token: ada.accessToken)
        XCTAssertEqual(try read.json()["version"] as? Int, try created.json()["version"] as? Int, "the row did not change")
        let after = try XCTUnwrap(read.header("etag"))
        XCTAssertNotEqual(after, before, "spent changed, so the representation and its tag did")
        assertAuthProblem(try server.send("PATCH", "/v1/projects/\(id)", ["name": "Stale"], token: ada.accessToken, headers: ["If-Match": before]),
                          412, "precondition_failed")
        let listed = try server.send("PATCH", "/v1/projects/\(id)", ["name": "Fresh"], token: ada.accessToken,
                                     headers: ["If-Match": "\(before), \(after)"])
        XCTAssertEqual(listed.status, 200, "one tag of the list matches: \(listed.text)")
        let weak = try XCTUnwrap(listed.header("etag"))
        assertAuthProblem(try server.send("PATCH", "/v1/projects/\(id)", ["name": "Weak"], token: ada.accessToken, headers: ["If-Match": "W/" + weak]),
                          412, "precondition_failed")
    }

    func testMalformedIfMatchIsA400() throws {
        let ada = try server.signUp("malformed@example.com")
        let id = try XCTUnwrap(try server.createProject(["name": "P"], token: ada.accessToken)["id"] as? String)
        for header in ["garbage", "\"unterminated", "\"a\" \"b\""] {
            assertAuthProblem(try server.send("PATCH", "/v1/projects/\(id)", ["name": "X"], token: ada.accessToken, headers: ["If-Match": header]),
                              400, "invalid_if_match")
            assertAuthProblem(try server.send("DELETE", "/v1/projects/\(id)", token: ada.accessToken, headers: ["If-Match": header]),
                              400, "invalid_if_match")
        }
    }
}
