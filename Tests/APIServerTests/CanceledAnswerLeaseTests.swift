@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// A canceled generation whose provider is still answering keeps its process's lease (migration
/// 190): the heartbeat renews it, and the sweep leaves the charge to that process meanwhile.
final class CanceledAnswerLeaseTests: XCTestCase {
    private var server: TestServer!
    private var userID = UUID()
    private var project = ""

    override func setUpWithError() throws {
        server = try TestServer()
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("canceled-lease@example.com")
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        project = try XCTUnwrap(try server.createProject(["name": "Canceled lease"], token: session.accessToken)["id"] as? String)
    }

    override func tearDown() {
        server.stop()
    }

    func testTheHeartbeatRenewsACanceledAnswersLeaseAndTheSweepWaitsForIt() throws {
        let claims = GenerationExecutor.claims(for: userID)
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: project, kind: .text, prompt: "long answer", provider: .local, maxOutputTokens: 50),
            settings: GenerationSettings(maxOutputTokens: 50),
            as: AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims), startHere: true)
        // Canceled while its submission is in flight: the reservation waits for the answer's charge.
        _ = try server.environment.generations.executor.runner.cancel(record.id, userID: userID, claimsJSON: claims)
        // Its lease ran out and it ended long ago, as after a long answer.
        try server.environment.pool.withServiceRole { transaction in
            try transaction.query("""
                update public.generations set lease_expires_at = now() - interval '1 second', finished_at = now() - interval '10 minutes'
                where id = \(record.id)
                """)
        }
        let store = server.environment.generations.store
        XCTAssertTrue(try store.unendedReservations(limit: 100).contains { $0.generationID == record.id }, "an abandoned cancel, as it stands")
        let renewed = try store.advance(record.id, to: nil, changes: GenerationChanges(leaseSeconds: 300), event: nil, claimsJSON: claims)
        XCTAssertEqual(renewed?.status, .canceled, "the heartbeat's renewal applies")
        XCTAssertFalse(try store.unendedReservations(limit: 100).contains { $0.generationID == record.id },
                       "the live process's lease keeps the sweep off")
        // Anything but the lease is still ignored on an ended generation.
        XCTAssertNil(try store.advance(record.id, to: nil, changes: GenerationChanges(errorCode: "x", leaseSeconds: 300), event: nil,
                                       claimsJSON: claims))
    }
}
