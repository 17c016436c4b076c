import Foundation
import Persistence
import TestSupport
import XCTest

/// `kill -9` of the serving process during an asynchronous video job: `apiserver worker` takes
/// the generation over when its lease expires, polls the stored provider task (never submitting
/// again), and settles it once.
final class GenerationDurabilityTests: XCTestCase {
    private var children: [ChildProcess] = []
    private var fake: FakeProvidersProcess?
    private let storage = FileManager.default.temporaryDirectory.appendingPathComponent("durable-\(UUID().uuidString)").path

    private static func binary(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    override func tearDown() {
        for child in children {
            child.signal(SIGKILL)
            _ = child.wait(timeout: 5)
        }
        fake?.stop()
        try? FileManager.default.removeItem(atPath: storage)
    }

    private func start(_ name: String, _ arguments: [String], _ environment: [String: String] = [:]) throws -> ChildProcess {
        let child = try ChildProcess(Self.binary(name), arguments, environment: environment)
        children.append(child)
        return child
    }

    private func json(_ response: HTTPTestConnection.Response) throws -> [String: Any] {
        try response.json()
    }

    private func post(_ port: Int, _ path: String, _ body: [String: Any], token: String? = nil) throws -> HTTPTestConnection.Response {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try HTTPTestConnection(port: port).request("POST", path, headers: headers, body: try JSONSerialization.data(withJSONObject: body))
    }

    func testAWorkerResumesPollingAfterTheServingProcessIsKilledAndTheProviderSeesOneSubmission() throws {
        let started = Date()
        let fake = try FakeProvidersProcess()
        self.fake = fake
        let fakePort = fake.port
        let admin = try TestPostgresCluster.shared.createDatabase(prefix: "durable")
        let port = try freeLoopbackPort()
        let environment = [
            "DATABASE_URL": admin.replacingOccurrences(of: "postgres@", with: "authenticator@"), "MIGRATION_DATABASE_URL": admin,
            "APP_ENV": "development", "PORT": String(port), "JWT_SECRET": String(repeating: "k", count: 40),
            "MIGRATIONS_DIR": TestServer.repositoryRoot.appendingPathComponent("migrations").path,
            "PRICING_CATALOG": TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json").path,
            "APP_ENCRYPTION_SECRET": String(repeating: "v", count: 40), "APP_ENCRYPTION_SCRYPT_N": "1024",
            "STORAGE_DIR": storage, "GENERATION_LEASE_SECONDS": "5", "BCRYPT_COST": "4",
            "RUNWAY_BASE_URL": "http://127.0.0.1:\(fakePort)/runway",
        ]
        let migrate = try start("apiserver", ["migrate"], environment)
        XCTAssertEqual(migrate.wait(timeout: 60), 0, migrate.output)
        let serve = try start("apiserver", ["serve"], environment)
        var ready = false
        while !ready && Date().timeIntervalSince(started) < 30 {
            ready = (try? HTTPTestConnection(port: port).request("GET", "/readyz").status) == 200
            if !ready { usleep(20_000) }
        }
        XCTAssertTrue(ready, serve.output)
        let token = try XCTUnwrap(try json(try post(port, "/auth/v1/signup", ["email": "durable@example.com", "password": "a long password"]))["access_token"] as? String)
        XCTAssertEqual(try post(port, "/v1/api-keys", ["provider": "runway", "label": "k", "key": ApiKeyTests.sampleKey(.runway)], token: token).status, 201)
        let project = try XCTUnwrap(try json(try post(port, "/v1/projects", ["name": "Film", "budget_limit": "50"], token: token))["id"] as? String)
        let created = try post(port, "/v1/generations", ["project_id": project, "type": "video", "prompt": "waves", "provider": "runway",
                                                         "parameters": ["duration_seconds": 5]], token: token)
        XCTAssertEqual(created.status, 202, created.text)
        let id = try XCTUnwrap(try json(created)["id"] as? String)

        let database = try PostgresConnection(url: admin)
        func row() throws -> (status: String, task: String?, cost: Decimal?) {
            let row = try database.query("select status, provider_task_id, actual_cost from public.generations where id = \(UUID(uuidString: id))")[0]
            return (try row.decode("status"), try row.decodeIfPresent("provider_task_id"), try row.decodeIfPresent("actual_cost"))
        }
        while try row().task == nil && Date().timeIntervalSince(started) < 60 { usleep(20_000) }
        XCTAssertNotNil(try row().task, "the provider task is stored before the first poll")
        serve.signal(SIGKILL)
        XCTAssertEqual(serve.wait(timeout: 10), 128 + SIGKILL)
        XCTAssertEqual(try row().status, "running", "nobody finished it")

        _ = try start("apiserver", ["worker"], environment)
        while try row().status == "running" && Date().timeIntervalSince(started) < 120 { usleep(100_000) }
        let final = try row()
        XCTAssertEqual(final.status, "succeeded")
        let counters = try HTTPTestConnection(port: fakePort).request("GET", "/_fake/counters").json()
        let runway = try XCTUnwrap((counters["providers"] as? [String: Any])?["runway"] as? [String: Any])
        let routes = try XCTUnwrap(runway["routes"] as? [String: Any])
        XCTAssertEqual(routes["POST /v1/text_to_video"] as? Int, 1, "submitted once, polled by whoever held the lease: \(routes)")
        // The status reads `succeeded` a moment before the settlement commits (the order that survives
        // a crash), so the ledger is read once it has settled or after a generous wait.
        func ledgerKinds() throws -> [String] {
            try database.query("""
                select kind, amount from public.budget_ledger where generation_id = \(UUID(uuidString: id)) order by created_at, kind
                """).map { "\(try $0.decode("kind", as: String.self))" }
        }
        let settling = Date()
        while try ledgerKinds().count < 3 && Date().timeIntervalSince(settling) < 15 { usleep(50_000) }
        let ledger = try ledgerKinds()
        XCTAssertEqual(ledger.sorted(), ["charge", "release", "reservation"], "reserved once, settled once")
        let charge = try database.query("""
            select amount from public.budget_ledger where generation_id = \(UUID(uuidString: id)) and kind = 'charge'
            """)[0].decode("amount", as: Decimal.self)
        XCTAssertEqual(charge, final.cost)
    }
}
