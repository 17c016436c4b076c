@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// What a canceled provider task is charged (`CanceledTaskCharge`): nothing where the provider
/// documents no charge for a cancelled job (Runway, a FAL request still queued), the reserved
/// estimate as an unknown outcome where it may bill anyway (Veo has no cancel, a started FAL
/// request runs on, a cancel that failed or came too late).
final class CanceledTaskChargeTests: XCTestCase {
    func testTheRuleFollowsWhatEachProviderDocumentsAboutBillingACancelledJob() {
        XCTAssertEqual(CanceledTaskCharge.after(.cancelled, provider: .runway, lastStatus: "RUNNING"), .nothing,
                       "Runway charges only succeeded tasks")
        XCTAssertEqual(CanceledTaskCharge.after(.cancelled, provider: .fal, lastStatus: "IN_QUEUE"), .nothing,
                       "FAL's cancel stops a queued request, and FAL charges only successful outputs")
        XCTAssertEqual(CanceledTaskCharge.after(.cancelled, provider: .fal, lastStatus: "IN_PROGRESS"), .estimate,
                       "a started FAL request runs on and is billed")
        XCTAssertEqual(CanceledTaskCharge.after(.notSupported, provider: .veo, lastStatus: "RUNNING"), .estimate,
                       "Veo has no cancel: the operation runs on and is billed")
        XCTAssertEqual(CanceledTaskCharge.after(.alreadyFinished, provider: .runway, lastStatus: "RUNNING"), .estimate,
                       "too late: it may have succeeded and billed")
        XCTAssertEqual(CanceledTaskCharge.after(nil, provider: .runway, lastStatus: "PENDING"), .estimate,
                       "a cancel that failed stopped nothing")
        XCTAssertEqual(CanceledTaskCharge.after(nil, provider: .local, lastStatus: nil), .nothing, "the local provider costs nothing")
    }

    /// Veo cannot cancel an operation: the canceled generation is charged its reserved estimate
    /// (`estimated`) and stays canceled. It was charged nothing before.
    func testACanceledVeoJobIsChargedTheEstimateSinceVeoBillsItAnyway() throws {
        let fake = try FakeProvidersProcess()
        defer { fake.stop() }
        let server = try TestServer(environment: fake.baseURLs)
        defer { server.stop() }
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let token = try server.signUp("veo-cancel@example.com").accessToken
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "veo", "label": "main", "key": ApiKeyTests.sampleKey(.veo)],
                                       token: token).status, 201)
        let project = try XCTUnwrap(try server.createProject(["name": "Video", "budget_period": "total", "budget_limit": "50"],
                                                             token: token)["id"] as? String)
        let response = try server.generate(["project_id": project, "type": "video", "prompt": "waves", "provider": "veo",
                                            "parameters": ["duration_seconds": 8]], token: token)
        XCTAssertEqual(response.status, 202, response.text)
        let id = try XCTUnwrap(try response.json()["id"] as? String)
        let estimate = try Money(parsing: try XCTUnwrap(try response.json()["estimate_usd"] as? String))
        XCTAssertGreaterThan(estimate, .zero)
        // Once the operation is stored (Veo is polled every 10 s, so it is still running then).
        let deadline = Date().addingTimeInterval(10)
        while try server.get("/v1/generations/\(id)", token: token).json()["status"] as? String != "running", Date() < deadline {
            usleep(50_000)
        }
        usleep(500_000)
        let cancel = try server.post("/v1/generations/\(id)/cancel", [:], token: token)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        let budget = try server.settledBudget(of: project, token: token)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(budget.spent, estimate, "Veo bills the operation it could not cancel: charged at the estimate")
        let body = try server.get("/v1/generations/\(id)", token: token).json()
        XCTAssertEqual(body["status"] as? String, "canceled", "it stays canceled")
        XCTAssertEqual(body["cost_status"] as? String, "estimated", "\(body)")
        XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String, "\(body)")), estimate)
    }
}
