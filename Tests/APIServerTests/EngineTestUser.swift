@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// What the engine tests that drive a generation by hand start from: a server in front of
/// fake-providers with the repository's price list, and one user with a key for `provider` and a
/// project with a total budget of `budgetLimit` USD.
struct EngineTestUser {
    let fake: FakeProvidersProcess
    let server: TestServer
    let token: String
    let userID: UUID
    let project: String
    var claims: String { GenerationExecutor.claims(for: userID) }

    init(email: String, provider: ProviderID, projectName: String, budgetLimit: String) throws {
        fake = try FakeProvidersProcess()
        server = try TestServer(environment: fake.baseURLs)
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp(email)
        token = session.accessToken
        userID = try XCTUnwrap(UUID(uuidString: session.userID))
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": "main", "key": ApiKeyTests.sampleKey(provider)],
                                       token: token).status, 201)
        project = try XCTUnwrap(try server.createProject(["name": projectName, "budget_period": "total", "budget_limit": budgetLimit],
                                                         token: token)["id"] as? String)
    }

    /// The identity the engine admits for, as an authenticated request carries it.
    var identity: AuthenticatedIdentity {
        AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
    }

    func stop() {
        server.stop()
        fake.stop()
    }
}
