@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// A provider task whose poll fails retryably is polled again later, and its lease is made to
/// outlast that wait, as a pending answer's is: a provider failing polls for longer than the lease
/// must not let another process take the task over while this one still polls it.
final class TaskPollLeaseTests: XCTestCase {
    func testAPollThatFailsRetryablyKeepsTheLeaseBeyondItsWait() async throws {
        let user = try EngineTestUser(email: "poll-lease@example.com", provider: .fal, projectName: "Images", budgetLimit: "50")
        defer { user.stop() }
        let server = user.server
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: user.project, kind: .image, prompt: "a kite", provider: .fal, model: "fal-ai/flux/dev", size: "landscape_4_3"),
            settings: GenerationSettings(size: "landscape_4_3"), as: user.identity)
        let runner = server.environment.generations.executor.runner
        guard case .pollAgain = try await runner.step(record.id, userID: user.userID, claimsJSON: user.claims) else {
            return XCTFail("submitted, pending at FAL")
        }
        // The lease has run down, as over a long series of failed polls.
        try server.environment.pool.withServiceRole { transaction in
            _ = try transaction.query("update public.generations set lease_expires_at = now() - interval '1 second' where id = \(record.id)")
        }
        let scripted = try HTTPTestConnection(port: user.fake.port).request(
            "POST", "/_fake/script", headers: ["Content-Type": "application/json"],
            body: try JSONSerialization.data(withJSONObject: ["provider": "fal", "behavior": "server_error", "times": 10]))
        XCTAssertEqual(scripted.status, 201, scripted.text)
        guard case .pollAgain(let wait) = try await runner.step(record.id, userID: user.userID, claimsJSON: user.claims) else {
            return XCTFail("a failed poll is asked again later")
        }
        let left = try XCTUnwrap(try server.environment.pool.withServiceRole { transaction in
            try transaction.query("select extract(epoch from lease_expires_at - now())::float8 as left from public.generations where id = \(record.id)")
                .first?.decode("left", as: Double.self)
        })
        XCTAssertGreaterThan(left, wait, "the lease outlasts the wait before the next poll")
        XCTAssertEqual(try server.environment.generations.store.get(record.id, claimsJSON: user.claims)?.status, .running)
    }
}
