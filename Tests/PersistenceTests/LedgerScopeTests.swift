import Domain
import Foundation
import Persistence
import Synchronization
import TestSupport
import XCTest

/// Migration 021: one reservation across the project, the user's monthly limit and the provider
/// configuration's monthly budget; refusals naming the scope; settle and release ending every
/// scope; summary rows equal to the entries they sum.
final class LedgerScopeTests: XCTestCase {
    private var url = ""
    private var admin: PostgresConnection!
    private var pool: ConnectionPool!
    private var ledger: PostgresBudgetLedger!
    private let alice = UUID()
    private let bob = UUID()

    override func setUpWithError() throws {
        url = try TestPostgresCluster.shared.createDatabase(prefix: "scopes")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        pool = ConnectionPool(.init(url: authenticatorURL, maximumConnections: 2))
        ledger = PostgresBudgetLedger(pool: pool)
        for user in [alice, bob] {
            try admin.query("insert into auth.users (id, email) values (\(user), \(user.uuidString.lowercased() + "@example.com"))")
        }
    }

    override func tearDown() {
        pool.close()
    }

    private var authenticatorURL: String { url.replacingOccurrences(of: "postgres@", with: "authenticator@") }

    private func claims(_ user: UUID) -> String {
        #"{"sub":"\#(user.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#
    }

    private func money(_ text: String) throws -> Money { try Money(parsing: text) }

    private func project(of user: UUID, limit: String? = nil) throws -> UUID {
        try admin.query("""
            insert into public.projects (user_id, name, budget_limit) values (\(user), 'p', \(limit)::numeric) returning id
            """)[0].decode("id", as: UUID.self)
    }

    private func providerBudget(_ user: UUID, _ provider: ProviderID, _ limit: String?) throws {
        try admin.query("""
            insert into public.provider_configs (user_id, provider, monthly_budget) values (\(user), \(provider.rawValue), \(limit)::numeric)
            on conflict (user_id, provider) do update set monthly_budget = excluded.monthly_budget
            """)
    }

    /// Every summary row recomputed from the entries: the two must agree exactly. A scope's entries
    /// are its own rows and those its project ledger rows imply (migration 183): a reservation row with
    /// `scopes_implied` reserves on the user scope and on `scope_provider`'s, a charge row with it
    /// charges them, and the reservation's project release or charge releases each such hold that no
    /// scope entry ended first.
    private func assertSummariesMatchEntries(file: StaticString = #filePath, line: UInt = #line) throws {
        let mismatches = try admin.query("""
            with movements as (
                select user_id, scope, kind, amount, created_at from public.budget_scope_entries
                union all
                select l.user_id, s.name, l.kind, l.amount, l.created_at
                from public.budget_ledger l cross join lateral (values ('user'), ('provider:' || l.scope_provider)) s(name)
                where l.scopes_implied and s.name is not null
                union all
                select r.user_id, s.name, 'release', r.amount, ended.at
                from public.budget_ledger r
                cross join lateral (select min(x.created_at) as at from public.budget_ledger x
                                    where x.generation_id = r.generation_id and x.kind in ('release', 'charge')) ended
                cross join lateral (values ('user'), ('provider:' || r.scope_provider)) s(name)
                where r.kind = 'reservation' and r.scopes_implied and s.name is not null and ended.at is not null
                  and not exists (select from public.budget_scope_entries q
                                  where q.generation_id = r.generation_id and q.scope = s.name and q.kind in ('release', 'charge'))
            ), sums as (
                select user_id, scope,
                       coalesce(sum(amount) filter (where kind = 'charge' and created_at >= date_trunc('month', now(), 'UTC')), 0) as spent,
                       coalesce(sum(case kind when 'reservation' then amount when 'release' then -amount else 0 end), 0) as reserved
                from movements group by user_id, scope)
            select coalesce(t.scope, s.scope) || ': summary ' || coalesce(t.spent::text, '-') || '/' || coalesce(t.reserved::text, '-')
                   || ' entries ' || coalesce(s.spent::text, '-') || '/' || coalesce(s.reserved::text, '-') as problem
            from public.budget_scope_totals t full join sums s on s.user_id = t.user_id and s.scope = t.scope
            -- A scope locked by a refused reservation has a summary row of zeros and no entries: equal.
            where coalesce(t.spent, 0) <> coalesce(s.spent, 0) or coalesce(t.reserved, 0) <> coalesce(s.reserved, 0)
            """).map { try $0.decode("problem", as: String.self) }
        XCTAssertEqual(mismatches, [], file: file, line: line)
    }

    func testAReservationHoldsOnEveryScopeAndSettleChargesEach() throws {
        let target = try project(of: alice, limit: "100")
        try providerBudget(alice, .openai, "50")
        try ledger.setUserMonthlyLimit(try money("80"), claimsJSON: claims(alice))
        let generation = UUID()
        let reservation = try ledger.reserve(project: target, generation: generation, amount: try money("3.5"), provider: .openai,
                                             claimsJSON: claims(alice))
        XCTAssertTrue(reservation.admitted)
        XCTAssertNil(reservation.shortfall)
        XCTAssertEqual(reservation.scopes.map(\.scope), [.project, .provider(.openai), .user])
        XCTAssertEqual(reservation.scopes.map(\.reserved), [try money("3.5"), try money("3.5"), try money("3.5")])
        XCTAssertEqual(reservation.scopes.map(\.limit), [try money("100"), try money("50"), try money("80")])
        XCTAssertTrue(reservation.scopes.allSatisfy { $0.entryID != nil })

        let settled = try ledger.settle(generation: generation, cost: try money("2.25"), provider: nil, claimsJSON: claims(alice))
        XCTAssertEqual(settled.map(\.scope), [.project, .provider(.openai), .user])
        XCTAssertEqual(settled.map(\.spent), [try money("2.25"), try money("2.25"), try money("2.25")])
        XCTAssertEqual(settled.map(\.reserved), [.zero, .zero, .zero])
        let totals = try ledger.scopeTotals(claimsJSON: claims(alice))
        XCTAssertEqual(totals.map(\.scope), [.provider(.openai), .user])
        XCTAssertEqual(totals.map(\.spent), [try money("2.25"), try money("2.25")])
        XCTAssertEqual(totals.map(\.reserved), [.zero, .zero])
        XCTAssertEqual(totals.map(\.limit), [try money("50"), try money("80")])
        try assertSummariesMatchEntries()
    }

    func testARefusalNamesTheScopeItsLimitAndTheShortfallAndWritesNothing() throws {
        let target = try project(of: alice, limit: "100")
        try providerBudget(alice, .anthropic, "5")
        XCTAssertTrue(try ledger.reserve(project: target, generation: UUID(), amount: try money("4"), provider: .anthropic,
                                         claimsJSON: claims(alice)).admitted)
        let refused = try ledger.reserve(project: target, generation: UUID(), amount: try money("1.5"), provider: .anthropic,
                                         claimsJSON: claims(alice))
        XCTAssertFalse(refused.admitted)
        XCTAssertEqual(refused.shortfall, BudgetShortfall(scope: .provider(.anthropic), limit: try money("5"), spent: .zero,
                                                          reserved: try money("4"), shortfall: try money("0.5")))
        XCTAssertTrue(refused.scopes.allSatisfy { $0.entryID == nil })

        // The user's own limit refuses in its turn, after the provider's (which fits on OpenAI).
        try ledger.setUserMonthlyLimit(try money("6"), claimsJSON: claims(alice))
        let overUser = try ledger.reserve(project: target, generation: UUID(), amount: try money("3"), provider: .openai, claimsJSON: claims(alice))
        XCTAssertEqual(overUser.shortfall?.scope, .user)
        XCTAssertEqual(overUser.shortfall?.shortfall, try money("1"))
        // And the project's before either.
        let small = try project(of: alice, limit: "1")
        XCTAssertEqual(try ledger.reserve(project: small, generation: UUID(), amount: try money("3"), provider: .anthropic,
                                          claimsJSON: claims(alice)).shortfall?.scope, .project)
        // Only the first reservation wrote: one ledger row, which holds the user and provider scopes too.
        XCTAssertEqual(try admin.query("select count(*)::int as n from public.budget_scope_entries")[0].decode("n", as: Int.self), 0)
        let written = try admin.query("select count(*)::int as n, bool_and(scopes_implied) as implied, min(scope_provider) as provider from public.budget_ledger")[0]
        XCTAssertEqual(try written.decode("n", as: Int.self), 1)
        XCTAssertEqual(try written.decode("implied", as: Bool.self), true)
        XCTAssertEqual(try written.decode("provider", as: String.self), "anthropic")
        try assertSummariesMatchEntries()
    }

    func testConcurrentReservesAdmitExactlyWhatTheProviderBudgetAllows() throws {
        // Forty projects without limits, so only the provider scope decides: 10.00 admits 13 × 0.75.
        try providerBudget(alice, .fal, "10.00")
        let attempts = 40
        let projects = try (0..<attempts).map { _ in try project(of: alice) }
        let connections = try (0..<attempts).map { _ in try PostgresConnection(url: authenticatorURL) }
        let start = DispatchSemaphore(value: 0)
        let results = Mutex<[(admitted: Bool, reserved: Decimal)]>([])
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        let claims = claims(alice)
        for (connection, target) in zip(connections, projects) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                start.wait()
                do {
                    try connection.query("begin")
                    try connection.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', \(claims), true)")
                    let row = try connection.query("""
                        select admitted, reserved from app_ledger.reserve(\(target), \(UUID()), 0.75, 'fal') where scope = 'provider:fal'
                        """)[0]
                    try connection.query("commit")
                    let outcome = (admitted: try row.decode("admitted", as: Bool.self), reserved: try row.decode("reserved", as: Decimal.self))
                    results.withLock { $0.append(outcome) }
                } catch {
                    failures.withLock { $0.append(String(reflecting: error)) }
                }
            }
        }
        for _ in 0..<attempts { start.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
        let outcomes = results.withLock { $0 }
        XCTAssertEqual(outcomes.count, attempts)
        XCTAssertEqual(outcomes.filter(\.admitted).count, 13)
        XCTAssertTrue(outcomes.allSatisfy { $0.reserved <= 10 }, "no step saw more than the limit reserved: \(outcomes.map(\.reserved))")
        let total = try admin.query("""
            select sum(amount)::text as s, count(*)::int as n from public.budget_ledger
            where kind = 'reservation' and scopes_implied and scope_provider = 'fal'
            """)[0]
        XCTAssertEqual(try total.decode("s", as: String.self), "9.75")
        XCTAssertEqual(try total.decode("n", as: Int.self), 13)
        try assertSummariesMatchEntries()
    }

    func testConcurrentMixedStepsNeverDeadlockAndKeepEveryScopeWithinItsLimit() throws {
        // Reserves on two providers and two projects, settles and releases, all at once: the fixed
        // lock order means none fails with a deadlock, and every scope stays within its limit.
        try providerBudget(alice, .openai, "6")
        try providerBudget(alice, .anthropic, "6")
        try ledger.setUserMonthlyLimit(try money("9"), claimsJSON: claims(alice))
        let projects = [try project(of: alice), try project(of: alice)]
        let held = try (0..<8).map { index -> UUID in
            let generation = UUID()
            _ = try ledger.reserve(project: projects[index % 2], generation: generation, amount: try money("0.5"),
                                   provider: index % 2 == 0 ? .openai : .anthropic, claimsJSON: claims(alice))
            return generation
        }
        let attempts = 32
        let connections = try (0..<attempts).map { _ in try PostgresConnection(url: authenticatorURL) }
        let start = DispatchSemaphore(value: 0)
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        let claimsText = claims(alice)
        for (index, connection) in connections.enumerated() {
            var statements: [SQL] = []
            switch index % 4 {
            // Generations 0–3 fall back to the other provider (moving their provider reservation
            // there first, as the runner does) and are settled on it; 4–7 are released.
            case 0 where index / 4 < 4:
                let provider = index / 4 % 2 == 0 ? "anthropic" : "openai"
                statements = ["select 1 from app_ledger.hold_provider(\(held[index / 4]), 0.5, \(provider))",
                              // null: the provider scope held now (the fallback's, unless its scope was full).
                              "select 1 from app_ledger.settle(\(held[index / 4]), 0.25, null)"]
            case 1 where index / 4 < 4: statements = ["select 1 from app_ledger.release_scoped(\(held[index / 4 + 4]))"]
            default:
                statements = ["select 1 from app_ledger.reserve(\(projects[index % 2]), \(UUID()), 0.75, \(index % 3 == 0 ? "openai" : "anthropic"))"]
            }
            let steps = statements
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                start.wait()
                do {
                    // One transaction per ledger call, as the engine makes them.
                    for statement in steps {
                        try connection.query("begin")
                        try connection.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', \(claimsText), true)")
                        try connection.query(statement)
                        try connection.query("commit")
                    }
                } catch {
                    failures.withLock { $0.append(String(reflecting: error)) }
                }
            }
        }
        for _ in 0..<attempts { start.signal() }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.withLock { $0 }, [], "no deadlock, no error")
        let totals = try ledger.scopeTotals(claimsJSON: claimsText)
        XCTAssertEqual(totals.map(\.scope), [.provider(.anthropic), .provider(.openai), .user])
        for scope in totals {
            let limit = try XCTUnwrap(scope.limit)
            XCTAssertLessThanOrEqual(scope.spent + scope.reserved, limit, "\(scope.scope)")
        }
        try assertSummariesMatchEntries()
    }

    /// Migration 183: a generation reserves with no scope entries, its ledger row holding the user's
    /// and its provider's scopes, and its end writes none either.
    func testAGenerationsScopesAreHeldAndChargedByItsLedgerRows() throws {
        let target = try project(of: alice)
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("2"), provider: .openai,
                                         claimsJSON: claims(alice)).admitted)
        _ = try ledger.settle(generation: generation, cost: try money("1.5"), provider: nil, claimsJSON: claims(alice))
        let rows = try admin.query("""
            select kind || ' ' || amount::text || ' ' || scopes_implied::text || ' ' || coalesce(scope_provider, '-') as r
            from public.budget_ledger where generation_id = \(generation) order by kind
            """).map { try $0.decode("r", as: String.self) }
        XCTAssertEqual(rows, ["charge 1.5 true openai", "release 2 false -", "reservation 2 true openai"])
        XCTAssertEqual(try admin.query("select count(*)::int as n from public.budget_scope_entries")[0].decode("n", as: Int.self), 0)
        try assertSummariesMatchEntries()
    }

    /// A provider-only end of a generation whose provider hold is implied by its reservation row ends
    /// that hold with scope entries (migration 183); the reservation's end then charges the user scope
    /// only, so the provider is charged once.
    func testAProviderOnlyEndEndsAnImpliedProviderHoldOnce() throws {
        let target = try project(of: alice)
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("2"), provider: .openai,
                                         claimsJSON: claims(alice)).admitted)
        let ended = try ledger.endProviderScope(generation: generation, cost: try money("0.5"), claimsJSON: claims(alice))
        XCTAssertEqual(ended.map(\.scope), [.provider(.openai)])
        XCTAssertEqual(ended.map(\.spent), [try money("0.5")])
        XCTAssertEqual(ended.map(\.reserved), [.zero])
        XCTAssertEqual(try ledger.endProviderScope(generation: generation, cost: try money("0.5"), claimsJSON: claims(alice)), [],
                       "nothing is held there any more")
        let settled = try ledger.settle(generation: generation, cost: try money("0.5"), provider: nil, claimsJSON: claims(alice))
        XCTAssertEqual(settled.map(\.scope), [.project, .user])
        let totals = try ledger.providerScopes(claimsJSON: claims(alice))
        XCTAssertEqual(totals[.openai]?.spent, try money("0.5"))
        XCTAssertEqual(totals[.openai]?.reserved, .zero)
        try assertSummariesMatchEntries()
    }

    /// A reservation made before migration 183 holds its scopes by scope entries: its end releases and
    /// charges them by scope entries, as it always did, and never by its ledger rows too.
    func testAReservationHeldByScopeEntriesEndsByScopeEntries() throws {
        let target = try project(of: alice)
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("2"), provider: .openai,
                                         claimsJSON: claims(alice)).admitted)
        // The same reservation in the older form: the ledger row holds the project only, entries the scopes.
        try admin.query("update public.budget_ledger set scopes_implied = false, scope_provider = null where generation_id = \(generation)")
        try admin.query("""
            insert into public.budget_scope_entries (user_id, scope, kind, amount, generation_id)
            values (\(alice), 'provider:openai', 'reservation', 2, \(generation)), (\(alice), 'user', 'reservation', 2, \(generation))
            """)
        try assertSummariesMatchEntries()
        let settled = try ledger.settle(generation: generation, cost: try money("1.5"), provider: nil, claimsJSON: claims(alice))
        XCTAssertEqual(settled.map(\.scope), [.project, .provider(.openai), .user])
        XCTAssertEqual(settled.map(\.spent), [try money("1.5"), try money("1.5"), try money("1.5")])
        XCTAssertEqual(settled.map(\.reserved), [.zero, .zero, .zero])
        let entries = try admin.query("""
            select scope || ' ' || kind || ' ' || amount::text as e from public.budget_scope_entries
            where generation_id = \(generation) order by scope, kind
            """).map { try $0.decode("e", as: String.self) }
        XCTAssertEqual(entries, ["provider:openai charge 1.5", "provider:openai release 2", "provider:openai reservation 2",
                                 "user charge 1.5", "user release 2", "user reservation 2"])
        let charge = try admin.query("""
            select scopes_implied, scope_provider from public.budget_ledger where generation_id = \(generation) and kind = 'charge'
            """)[0]
        XCTAssertEqual(try charge.decode("scopes_implied", as: Bool.self), false)
        XCTAssertNil(try charge.decodeIfPresent("scope_provider", as: String.self))
        try assertSummariesMatchEntries()
    }

    func testSettleAfterAFallbackChargesTheProviderThatServedIt() throws {
        let target = try project(of: alice)
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("2"), provider: .openai,
                                         claimsJSON: claims(alice)).admitted)
        let settled = try ledger.settle(generation: generation, cost: try money("1.5"), provider: .anthropic, claimsJSON: claims(alice))
        XCTAssertEqual(settled.map(\.scope), [.project, .provider(.anthropic), .provider(.openai), .user])
        XCTAssertEqual(settled.map(\.spent), [try money("1.5"), try money("1.5"), .zero, try money("1.5")])
        XCTAssertEqual(settled.map(\.reserved), [.zero, .zero, .zero, .zero])
        try assertSummariesMatchEntries()
    }

    func testAFallbackMovesTheProviderReservationOrIsRefusedWithoutWritingAnything() throws {
        try providerBudget(alice, .openai, "10")
        try providerBudget(alice, .anthropic, "3")
        let target = try project(of: alice)
        // Another generation already holds 2 of anthropic's 3.
        XCTAssertTrue(try ledger.reserve(project: target, generation: UUID(), amount: try money("2"), provider: .anthropic,
                                         claimsJSON: claims(alice)).admitted)
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("1.5"), provider: .openai,
                                         claimsJSON: claims(alice)).admitted)
        // The fallback to anthropic needs 1.5 there, and 2 + 1.5 > 3: refused, nothing moves.
        let refused = try ledger.holdProvider(generation: generation, amount: try money("1.5"), provider: .anthropic, claimsJSON: claims(alice))
        XCTAssertFalse(refused.admitted)
        XCTAssertEqual(refused.scopes.map(\.scope), [.provider(.anthropic)])
        XCTAssertEqual(refused.scopes.first?.fits, false)
        XCTAssertEqual(refused.scopes.first?.reserved, try money("2"))
        var totals = try ledger.providerScopes(claimsJSON: claims(alice))
        XCTAssertEqual(totals[.openai]?.reserved, try money("1.5"), "openai still holds the reservation")
        XCTAssertEqual(totals[.anthropic]?.reserved, try money("2"))

        // With room (the limit raised), the reservation moves: anthropic holds it, openai lets go.
        try providerBudget(alice, .anthropic, "4")
        let moved = try ledger.holdProvider(generation: generation, amount: try money("1.5"), provider: .anthropic, claimsJSON: claims(alice))
        XCTAssertTrue(moved.admitted)
        XCTAssertEqual(moved.scopes.map(\.scope), [.provider(.anthropic), .provider(.openai)])
        totals = try ledger.providerScopes(claimsJSON: claims(alice))
        XCTAssertEqual(totals[.openai]?.reserved, .zero)
        XCTAssertEqual(totals[.anthropic]?.reserved, try money("3.5"))
        // Holding where it already is changes nothing; going back to a scope it left is refused.
        XCTAssertTrue(try ledger.holdProvider(generation: generation, amount: try money("1.5"), provider: .anthropic, claimsJSON: claims(alice)).admitted)
        XCTAssertThrowsError(try ledger.holdProvider(generation: generation, amount: try money("1.5"), provider: .openai, claimsJSON: claims(alice)))

        // Settled on the provider that served: charged there, every reservation of it ended once.
        let settled = try ledger.settle(generation: generation, cost: try money("1.25"), provider: .anthropic, claimsJSON: claims(alice))
        XCTAssertEqual(settled.map(\.scope), [.project, .provider(.anthropic), .user])
        totals = try ledger.providerScopes(claimsJSON: claims(alice))
        XCTAssertEqual(totals[.anthropic]?.spent, try money("1.25"))
        XCTAssertEqual(totals[.anthropic]?.reserved, try money("2"))
        XCTAssertEqual(totals[.openai]?.spent, .zero)
        XCTAssertEqual(totals[.openai]?.reserved, .zero)
        XCTAssertEqual(try ledger.charge(of: generation, claimsJSON: claims(alice)), try money("1.25"))
        // After the end, no scope can be taken for it any more.
        XCTAssertThrowsError(try ledger.holdProvider(generation: generation, amount: try money("1"), provider: .veo, claimsJSON: claims(alice)))
        try assertSummariesMatchEntries()
    }

    func testABatchItemHoldsAndEndsOnlyItsProviderScope() throws {
        try providerBudget(alice, .fal, "1")
        let item = UUID()
        XCTAssertTrue(try ledger.holdProvider(generation: item, amount: try money("0.75"), provider: .fal, claimsJSON: claims(alice)).admitted)
        XCTAssertFalse(try ledger.holdProvider(generation: UUID(), amount: try money("0.5"), provider: .fal, claimsJSON: claims(alice)).admitted,
                       "0.75 + 0.5 > 1")
        XCTAssertNil(try ledger.charge(of: item, claimsJSON: claims(alice)))
        let ended = try ledger.endProviderScope(generation: item, cost: try money("0.5"), claimsJSON: claims(alice))
        XCTAssertEqual(ended.map(\.scope), [.provider(.fal)])
        XCTAssertEqual(ended.first?.spent, try money("0.5"))
        XCTAssertEqual(ended.first?.reserved, .zero)
        XCTAssertEqual(try ledger.charge(of: item, claimsJSON: claims(alice)), try money("0.5"))
        XCTAssertEqual(try ledger.endProviderScope(generation: item, cost: nil, claimsJSON: claims(alice)), [], "ended once")
        try assertSummariesMatchEntries()
    }

    /// Migration 150: an unpriced fallback or batch item (a hold of nothing for real provider work)
    /// needs headroom on the provider scope, as app_ledger.reserve's unpriced admissions do since
    /// 136; before, a full scope (spent + reserved = limit) still admitted a hold of 0.
    func testAnUnpricedHoldNeedsHeadroomOnAFullProviderScope() throws {
        try providerBudget(alice, .fal, "1")
        try providerBudget(alice, .local, "1")
        XCTAssertTrue(try ledger.holdProvider(generation: UUID(), amount: try money("0.4"), provider: .fal, claimsJSON: claims(alice)).admitted)
        XCTAssertTrue(try ledger.holdProvider(generation: UUID(), amount: .zero, provider: .fal, claimsJSON: claims(alice)).admitted,
                      "with headroom (0.4 of 1), an unpriced hold is admitted")
        XCTAssertTrue(try ledger.holdProvider(generation: UUID(), amount: try money("0.6"), provider: .fal, claimsJSON: claims(alice)).admitted,
                      "a priced hold may fill the scope exactly")
        let unpriced = UUID()
        let refused = try ledger.holdProvider(generation: unpriced, amount: .zero, provider: .fal, claimsJSON: claims(alice))
        XCTAssertFalse(refused.admitted, "0.4 + 0.6 = 1: no headroom left for work whose cost is unknown")
        XCTAssertEqual(refused.scopes.first?.fits, false)
        XCTAssertEqual(try admin.query("select count(*)::int as n from public.budget_scope_entries where generation_id = \(unpriced)")[0]
            .decode("n", as: Int.self), 0, "a refusal writes nothing")
        // The offline provider costs nothing and is exempt, as in reserve.
        XCTAssertTrue(try ledger.holdProvider(generation: UUID(), amount: try money("1"), provider: .local, claimsJSON: claims(alice)).admitted)
        XCTAssertTrue(try ledger.holdProvider(generation: UUID(), amount: .zero, provider: .local, claimsJSON: claims(alice)).admitted)
        try assertSummariesMatchEntries()
    }

    func testReleaseEndsEveryScopeAndTheProjectOnlyFormsStillWork() throws {
        let target = try project(of: alice, limit: "10")
        let generation = UUID()
        XCTAssertTrue(try ledger.reserve(project: target, generation: generation, amount: try money("2"), provider: .veo,
                                         claimsJSON: claims(alice)).admitted)
        let released = try ledger.releaseAll(generation: generation, claimsJSON: claims(alice))
        XCTAssertEqual(released.map(\.scope), [.project, .provider(.veo), .user])
        XCTAssertEqual(released.map(\.reserved), [.zero, .zero, .zero])
        XCTAssertEqual(released.map(\.spent), [.zero, .zero, .zero])
        XCTAssertThrowsError(try ledger.releaseAll(generation: generation, claimsJSON: claims(alice))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .alreadyEnded)
        }

        // The 007 signatures: reserve (project and user scope), settle and release end all of them.
        let other = UUID()
        let project = try ledger.reserve(project: target, generation: other, amount: try money("1"), claimsJSON: claims(alice))
        XCTAssertTrue(project.admitted)
        XCTAssertEqual(project.outcome.reserved, try money("1"))
        XCTAssertEqual(try ledger.settle(generation: other, cost: try money("0.4"), claimsJSON: claims(alice)).spent, try money("0.4"))
        let totals = try ledger.scopeTotals(claimsJSON: claims(alice))
        XCTAssertEqual(totals.map(\.scope), [.provider(.veo), .user])
        XCTAssertEqual(totals.map(\.spent), [.zero, try money("0.4")])
        XCTAssertEqual(totals.map(\.reserved), [.zero, .zero])
        try assertSummariesMatchEntries()
    }

    func testAnotherUsersProjectOrGenerationIsNotFoundAndTheirScopesAreInvisible() throws {
        let alices = try project(of: alice)
        let generation = UUID()
        XCTAssertThrowsError(try ledger.reserve(project: alices, generation: generation, amount: try money("1"), provider: .openai,
                                                claimsJSON: claims(bob))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .notFound)
        }
        XCTAssertTrue(try ledger.reserve(project: alices, generation: generation, amount: try money("1"), provider: .openai,
                                         claimsJSON: claims(alice)).admitted)
        XCTAssertThrowsError(try ledger.settle(generation: generation, cost: try money("1"), provider: nil, claimsJSON: claims(bob))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .notFound)
        }
        XCTAssertEqual(try ledger.scopeTotals(claimsJSON: claims(bob)), [])
        XCTAssertThrowsError(try ledger.reserve(project: alices, generation: generation, amount: try money("1"), provider: .openai,
                                                claimsJSON: claims(alice))) {
            XCTAssertEqual($0 as? PostgresBudgetLedger.Refusal, .alreadyReserved)
        }
    }

    func testAWatcherNeverSeesAScopeOverItsLimitWhileReservationsComeAndGo() throws {
        // 30 workers each reserve 1.00 on a 10.00 provider budget, then settle at 0.50 or release;
        // a watcher reads the summary row in one statement throughout: spent + reserved ≤ 10 always.
        try providerBudget(alice, .runway, "10.00")
        let target = try project(of: alice)
        let attempts = 30
        let connections = try (0..<attempts).map { _ in try PostgresConnection(url: authenticatorURL) }
        let watcher = try PostgresConnection(url: url)
        let start = DispatchSemaphore(value: 0)
        let failures = Mutex<[String]>([])
        let admitted = Mutex(0)
        let done = Atomic<Bool>(false)
        let group = DispatchGroup()
        let claimsText = claims(alice)
        for (index, connection) in connections.enumerated() {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                start.wait()
                do {
                    let generation = UUID()
                    try connection.query("begin")
                    try connection.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', \(claimsText), true)")
                    let row = try connection.query("""
                        select admitted from app_ledger.reserve(\(target), \(generation), 1.00, 'runway') where scope = 'project'
                        """)[0]
                    try connection.query("commit")
                    guard try row.decode("admitted", as: Bool.self) else { return }
                    admitted.withLock { $0 += 1 }
                    try connection.query("begin")
                    try connection.query("select set_config('role', 'authenticated', true), set_config('request.jwt.claims', \(claimsText), true)")
                    try connection.query(index % 2 == 0 ? "select 1 from app_ledger.settle(\(generation), 0.50, null)"
                                                         : "select 1 from app_ledger.release_scoped(\(generation))")
                    try connection.query("commit")
                } catch {
                    failures.withLock { $0.append(String(reflecting: error)) }
                }
            }
        }
        var readings = 0
        var worst: Decimal = 0
        for _ in 0..<attempts { start.signal() }
        let finished = DispatchSemaphore(value: 0)
        group.notify(queue: .global()) { done.store(true, ordering: .sequentiallyConsistent); finished.signal() }
        repeat {
            let rows = try watcher.query("select spent + reserved as used from public.budget_scope_totals where scope = 'provider:runway'")
            if let used = try rows.first?.decode("used", as: Decimal.self) {
                readings += 1
                worst = max(worst, used)
            }
        } while !done.load(ordering: .sequentiallyConsistent)
        XCTAssertEqual(finished.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(failures.withLock { $0 }, [])
        XCTAssertGreaterThan(readings, 0, "the watcher read the summary while work was in flight")
        XCTAssertLessThanOrEqual(worst, 10, "spent + reserved never exceeded the limit")
        XCTAssertGreaterThanOrEqual(admitted.withLock { $0 }, 10, "ten fit at once; settled ones make room for more")
        try assertSummariesMatchEntries()
    }
}
