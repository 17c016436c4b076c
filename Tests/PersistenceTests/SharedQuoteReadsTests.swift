import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// Quote reads of one project under one token that arrive together share one round trip; requests
/// under another token never get a read made for someone else.
final class SharedQuoteReadsTests: XCTestCase {
    private var pool: ConnectionPool!
    private var reads: PostgresRoutingReads!
    private var admin: PostgresConnection!
    private let alice = UUID()
    private let bob = UUID()
    private var project = UUID()

    private func identity(_ user: UUID) -> AuthenticatedIdentity {
        AuthenticatedIdentity(userID: user, sessionID: nil, role: "authenticated",
                              claimsJSON: #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#)
    }

    override func setUpWithError() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "shared_quote_reads")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, email) values (\(user), \(user.uuidString.lowercased() + "@example.com"))")
        }
        project = try admin.query("""
            insert into public.projects (user_id, name, budget_limit, budget_period) values (\(alice), 'p', 5, 'total') returning id
            """)[0].decode("id")
        pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 4))
        reads = PostgresRoutingReads(pool: pool)
    }

    override func tearDown() {
        pool?.close()
    }

    func testConcurrentReadsOfOneProjectShareRoundTripsAndOtherTokensGetTheirOwn() throws {
        let seen = LockedValue<[String]>([])
        let done = DispatchGroup()
        let reads: PostgresRoutingReads = reads, project = project
        // Threads of their own, so all wait at once whatever the number of cores; alice's and bob's
        // requests for alice's project interleave.
        for index in 0..<32 {
            let caller = index.isMultiple(of: 2) ? identity(alice) : identity(bob)
            let name = index.isMultiple(of: 2) ? "alice" : "bob"
            done.enter()
            Thread {
                defer { done.leave() }
                let answer: String
                do {
                    let read = try reads.quoteReads(project: project, as: caller)
                    answer = "\(name) \(read.project?.budget.limit?.description ?? "none")"
                } catch {
                    answer = "\(name) failed: \(error)"
                }
                seen.mutate { $0.append(answer) }
            }.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(seen.value.sorted(), Array(repeating: "alice 5.00", count: 16) + Array(repeating: "bob none", count: 16),
                       "alice reads her project, bob never gets it")
        XCTAssertGreaterThan(reads.sharedQuoteReads.largestGroup, 1, "reads that waited were shared")
    }

    func testAReadAfterAChangeSeesTheChange() throws {
        XCTAssertEqual(try reads.quoteReads(project: project, as: identity(alice)).project?.budget.limit?.description, "5.00")
        try admin.query("update public.projects set budget_limit = 7 where id = \(project)")
        XCTAssertEqual(try reads.quoteReads(project: project, as: identity(alice)).project?.budget.limit?.description, "7.00")
    }
}
