import Domain
import Foundation
import Persistence
import Synchronization
import TestSupport
import XCTest

/// Scale-out: two `serve` processes and one `worker` on one database, requests spread across both
/// servers. Reservations and idempotency keys live in PostgreSQL, so what holds for one process
/// holds for all of them.
final class GenerationScaleOutTests: XCTestCase {
    private var children: [ChildProcess] = []
    private var fake: FakeProvidersProcess?
    private let storage = FileManager.default.temporaryDirectory.appendingPathComponent("scale-out-\(UUID().uuidString)").path
    private var ports: [Int] = []
    private var admin = ""
    private var token = ""

    private static func binary(_ name: String) -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name).path
    }

    override func setUpWithError() throws {
        let started = Date()
        let fake = try FakeProvidersProcess(arguments: ["--threads", "4"])
        self.fake = fake
        let fakePort = fake.port
        admin = try TestPostgresCluster.shared.createDatabase(prefix: "scaleout")
        var environment = [
            "DATABASE_URL": admin.replacingOccurrences(of: "postgres@", with: "authenticator@"), "MIGRATION_DATABASE_URL": admin,
            "APP_ENV": "development", "JWT_SECRET": String(repeating: "k", count: 40),
            "MIGRATIONS_DIR": TestServer.repositoryRoot.appendingPathComponent("migrations").path,
            "PRICING_CATALOG": TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json").path,
            "APP_ENCRYPTION_SECRET": String(repeating: "v", count: 40), "APP_ENCRYPTION_SCRYPT_N": "1024",
            "STORAGE_DIR": storage, "BCRYPT_COST": "4", "DB_POOL_SIZE": "8", "HTTP_THREADS": "8",
            "OPENAI_BASE_URL": "http://127.0.0.1:\(fakePort)/openai/v1",
        ]
        let migrate = try start("apiserver", ["migrate"], environment)
        XCTAssertEqual(migrate.wait(timeout: 60), 0, migrate.output)
        for _ in 0..<2 {
            let port = try freeLoopbackPort()
            environment["PORT"] = String(port)
            let serve = try start("apiserver", ["serve"], environment)
            var ready = false
            while !ready && Date().timeIntervalSince(started) < 60 {
                ready = (try? HTTPTestConnection(port: port).request("GET", "/readyz").status) == 200
                if !ready { usleep(20_000) }
            }
            guard ready else { throw TestSupportError("serve did not start: \(serve.output)") }
            ports.append(port)
        }
        environment["PORT"] = nil
        _ = try start("apiserver", ["worker"], environment)
        let session = try post(ports[0], "/auth/v1/signup", ["email": "scale-out@example.com", "password": "a long password"]).json()
        token = try XCTUnwrap(session["access_token"] as? String)
        XCTAssertEqual(try post(ports[1], "/v1/api-keys", ["provider": "openai", "label": "k", "key": ApiKeyTests.sampleKey(.openai)]).status, 201)
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

    private func post(_ port: Int, _ path: String, _ body: [String: Any], headers: [String: String] = [:]) throws -> HTTPTestConnection.Response {
        try Self.post(port, path, try JSONSerialization.data(withJSONObject: body), token: token, headers: headers)
    }

    private static func post(_ port: Int, _ path: String, _ body: Data, token: String, headers: [String: String] = [:]) throws
        -> HTTPTestConnection.Response {
        var all = headers
        all["Content-Type"] = "application/json"
        if !token.isEmpty { all["Authorization"] = "Bearer \(token)" }
        return try HTTPTestConnection(port: port, timeoutSeconds: 120).request("POST", path, headers: all, body: body)
    }

    private func get(_ port: Int, _ path: String) throws -> [String: Any] {
        try HTTPTestConnection(port: port).request("GET", path, headers: ["Authorization": "Bearer \(token)"]).json()
    }

    private func text(_ project: String, _ prompt: String) -> [String: Any] {
        ["project_id": project, "type": "text", "prompt": prompt, "provider": "openai", "parameters": ["max_output_tokens": 100]]
    }

    func testTwoHundredGenerationsAcrossTwoServersAgainstABudgetForTenNeverOverspend() throws {
        // Slow at the provider, so the admitted ones hold their reservations while the rest arrive.
        let prompt = "[fake:slow:45] Write a haiku about the sea."
        let probe = try XCTUnwrap(try post(ports[0], "/v1/projects", ["name": "Probe"]).json()["id"] as? String)
        let quote = try post(ports[0], "/v1/quotes", text(probe, prompt)).json()
        let estimate = try Money(parsing: try XCTUnwrap((quote["candidates"] as? [[String: Any]])?.first?["total"] as? String))
        let limit = (1...10).reduce(Money.zero) { total, _ in total + estimate }
        let project = try XCTUnwrap(try post(ports[1], "/v1/projects", ["name": "Ten", "budget_period": "total",
                                                                         "budget_limit": limit.jsonString]).json()["id"] as? String)
        let projectID = try XCTUnwrap(UUID(uuidString: project))

        // The watcher reads the ledger in one statement, continuously, from its own connection.
        let watcherConnection = try PostgresConnection(url: admin)
        let overruns = Mutex<[String]>([])
        let readings = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let watcher = Thread {
            while !done.load(ordering: .acquiring) {
                guard let row = try? watcherConnection.query("""
                    select coalesce(sum(amount) filter (where kind = 'charge'), 0)
                           + coalesce(sum(amount) filter (where kind = 'reservation'), 0)
                           - coalesce(sum(amount) filter (where kind = 'release'), 0) as used
                    from public.budget_ledger where project_id = \(projectID)
                    """).first, let used = try? row.decode("used", as: Decimal.self) else { continue }
                readings.add(1, ordering: .relaxed)
                if used > limit.amount { overruns.withLock { $0.append("\(used)") } }
            }
        }
        watcher.start()

        let statuses = Mutex<[Int]>([])
        let ids = Mutex<[String]>([])
        let go = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        let body = try JSONSerialization.data(withJSONObject: text(project, prompt))
        let token = self.token
        for index in 0..<200 {
            let port = ports[index % 2]
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                go.wait()
                guard let response = try? Self.post(port, "/v1/generations", body, token: token) else {
                    statuses.withLock { $0.append(-1) }
                    return
                }
                statuses.withLock { $0.append(response.status) }
                if response.status == 202, let id = (try? response.json())?["id"] as? String { ids.withLock { $0.append(id) } }
            }
        }
        let burst = Date()
        for _ in 0..<200 { go.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 240), .success)
        // Longer than the provider's 45 s, and the first admitted would have freed room: say so.
        let burstSeconds = Date().timeIntervalSince(burst)
        let all = statuses.withLock { $0 }
        let counts = Dictionary(grouping: all, by: { $0 }).mapValues(\.count)
        XCTAssertEqual(counts[202], 10, "exactly ten admitted across both servers: \(counts) in \(burstSeconds) s")
        XCTAssertEqual(counts[402], 190, "\(counts)")

        var charged = Money.zero
        for id in ids.withLock({ $0 }) {
            var body: [String: Any] = [:]
            let deadline = Date().addingTimeInterval(120)
            repeat {
                body = try get(ports[1], "/v1/generations/\(id)")
                if ["succeeded", "failed", "canceled", "expired"].contains(body["status"] as? String ?? "") { break }
                usleep(100_000)
            } while Date() < deadline
            XCTAssertEqual(body["status"] as? String, "succeeded", "\(body)")
            charged += try Money(parsing: body["actual_cost_usd"] as? String ?? "x")
        }
        done.store(true, ordering: .releasing)
        while !watcher.isFinished { usleep(10_000) }
        XCTAssertGreaterThan(readings.load(ordering: .relaxed), 10, "the watcher read throughout")
        XCTAssertEqual(overruns.withLock { $0 }, [], "spent + reserved never exceeded the limit")
        let budget = try XCTUnwrap(try get(ports[0], "/v1/projects/\(project)")["budget"] as? [String: Any])
        XCTAssertEqual(try Money(parsing: budget["spent"] as? String ?? "x"), charged, "exactly the admitted ones were charged")
        XCTAssertEqual(try Money(parsing: budget["reserved"] as? String ?? "x"), .zero)
    }

    func testAConcurrentDuplicateAcrossBothServersMakesOneGeneration() throws {
        let project = try XCTUnwrap(try post(ports[0], "/v1/projects", ["name": "Twice"]).json()["id"] as? String)
        let body = try JSONSerialization.data(withJSONObject: text(project, "[fake:slow:1] One haiku, once."))
        let token = self.token
        let answers = Mutex<[(status: Int, id: String?)]>([])
        let go = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        for index in 0..<8 {
            let port = ports[index % 2]
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                go.wait()
                let response = try? Self.post(port, "/v1/generations", body, token: token, headers: ["Idempotency-Key": "the-same-key"])
                answers.withLock { $0.append((response?.status ?? -1, (try? response?.json())?["id"] as? String)) }
            }
        }
        for _ in 0..<8 { go.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        let all = answers.withLock { $0 }
        XCTAssertEqual(all.map(\.status), Array(repeating: 202, count: 8), "the first answer, replayed on both servers")
        XCTAssertEqual(Set(all.compactMap(\.id)).count, 1, "one generation: \(all)")
        let database = try PostgresConnection(url: admin)
        XCTAssertEqual(try database.query("select count(*)::int as n from public.generations").first?.decode("n", as: Int.self), 1)
        XCTAssertEqual(try database.query("select count(*)::int as n from public.budget_ledger where kind = 'reservation'")
            .first?.decode("n", as: Int.self), 1, "reserved once")
    }
}
