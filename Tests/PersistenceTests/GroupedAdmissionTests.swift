import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// One project's admissions (and ends) that arrive together are written by one writer in shared
/// transactions: each is still decided against the totals the ones before it left, and a shared
/// transaction that fails leaves each to be written on its own.
final class GroupedAdmissionTests: XCTestCase {
    private var pool: ConnectionPool!
    private var store: PostgresGenerationStore!
    private var admin: PostgresConnection!
    private let alice = UUID()
    private var claims: String { #"{"sub":"\#(alice.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"# }

    override func setUpWithError() throws {
        let url = try TestPostgresCluster.shared.createDatabase(prefix: "grouped_admission")
        admin = try PostgresConnection(url: url)
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
        try admin.query("insert into auth.users (id, email) values (\(alice), 'alice@example.com')")
        pool = ConnectionPool(.init(url: url.replacingOccurrences(of: "postgres@", with: "authenticator@"), maximumConnections: 4))
        store = PostgresGenerationStore(pool: pool)
    }

    override func tearDown() {
        pool?.close()
    }

    /// Bob, a second user beside Alice (the equivalence tests run one sequence as each), and his claims.
    private func secondUser() throws -> (UUID, String) {
        let bob = UUID()
        try admin.query("insert into auth.users (id, email) values (\(bob), 'bob@example.com')")
        return (bob, #"{"sub":"\#(bob.uuidString.lowercased())","role":"authenticated","aud":"authenticated"}"#)
    }

    private func project(limit: String) throws -> UUID {
        try admin.query("""
            insert into public.projects (user_id, name, budget_limit, budget_period) values (\(alice), 'p', \(limit)::numeric, 'total') returning id
            """)[0].decode("id", as: UUID.self)
    }

    private func admission(_ project: UUID, id: UUID = UUID(), estimate: String = "0.1", start: Bool = false,
                           clearing: FirstAttemptCheck? = nil, settings: GenerationSettings = GenerationSettings(),
                           maxCost: String? = nil, requested: (ProviderID, String)? = nil) throws -> PendingAdmission {
        let amount = try Money(parsing: estimate)
        let generation = NewGeneration(id: id, projectID: project, kind: .text, prompt: "p", settings: settings,
                                       requestedProvider: requested?.0, requestedModel: requested?.1,
                                       candidates: [GenerationCandidate(provider: .openai, model: "gpt-4o-mini", estimate: amount)],
                                       estimate: amount, maxCost: try maxCost.map { try Money(parsing: $0) }, pricingVersion: "v1")
        return try PendingAdmission(generation, start: start, leaseOwner: "test", leaseSeconds: 60, clearing: clearing, claimsJSON: claims)
    }

    private func reserved(_ project: UUID) throws -> String {
        try admin.query("select reserved::text as r from public.project_budget_totals where project_id = \(project)")[0].decode("r")
    }

    private func generations(_ project: UUID) throws -> Int {
        try admin.query("select count(*)::int as n from public.generations where project_id = \(project)")[0].decode("n")
    }

    func testConcurrentAdmissionsOfOneProjectShareGroupsAndAdmitExactlyWhatTheBudgetHolds() throws {
        let project = try project(limit: "1.0")
        let pending = try (0..<24).map { _ in try admission(project) }
        let results = LockedValue<[Bool?]>(Array(repeating: nil, count: pending.count))
        let done = DispatchGroup()
        let store: PostgresGenerationStore = store, claims = claims
        // Threads of their own, so all 24 wait at once whatever the number of cores.
        for (index, generation) in pending.map(\.generation).enumerated() {
            done.enter()
            Thread {
                defer { done.leave() }
                let answer = try? store.admit(generation, reserveOn: .openai, start: false, leaseOwner: "test",
                                              leaseSeconds: 60, clearing: nil, claimsJSON: claims)
                // Admitted with a generation, or refused without one; anything else stays nil.
                if let answer, answer.outcome.admitted == (answer.record != nil) {
                    results.mutate { $0[index] = answer.outcome.admitted }
                }
            }.start()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertFalse(results.value.contains(nil), "every admission answered consistently: \(results.value)")
        XCTAssertEqual(results.value.filter { $0 == true }.count, 10)
        XCTAssertEqual(try reserved(project), "1.0")
        XCTAssertEqual(try generations(project), 10)
        XCTAssertGreaterThan(store.admissions.largestGroup, 1, "admissions that waited were run together")
    }

    func testAGroupDecidesEachAdmissionAgainstTheTotalsBeforeIt() throws {
        let project = try project(limit: "0.25")
        let group = try (0..<3).map { _ in try admission(project) }
        let answers = store.runAdmissions(group)
        var admitted: [Bool] = []
        for answer in answers {
            guard case .admitted(let outcome, let record) = try answer.get() else { return XCTFail("not decided in the group") }
            XCTAssertEqual(record != nil, outcome.admitted)
            admitted.append(outcome.admitted)
        }
        XCTAssertEqual(admitted, [true, true, false])
        XCTAssertEqual(try reserved(project), "0.2")
        XCTAssertEqual(try generations(project), 2)
    }

    /// Migration 172: `admit_group` creates each admitted generation as `admit_reserved` alone does (the
    /// same columns, its events in the same order), in the group's order, and none for a refused one.
    func testAGroupCreatesEachGenerationAsItsOwnAdmissionWould() throws {
        let project = try project(limit: "0.45")
        let shape = { (id: UUID) throws -> String in
            let row = try self.admin.query("""
                select g.status || ' ' || g.estimate::text || ' ' || coalesce(g.provider, '-') || ' ' || coalesce(g.model, '-') || ' '
                       || g.parameters::text || ' ' || g.candidates::text || ' ' || coalesce(g.submitting::text, '-') || ' '
                       || (g.started_at is not null)::text || ' ' || g.lease_owner || ' '
                       || (g.lease_expires_at > now() + interval '50 seconds')::text || ' '
                       || (select string_agg(e.type || e.payload::text, ',' order by e.id) from public.generation_events e
                           where e.generation_id = g.id) as shape
                from public.generations g where g.id = \(id)
                """)
            return try row.first?.decode("shape", as: String.self) ?? "none"
        }
        let alone = [try admission(project, start: true), try admission(project)]
        for pending in alone { _ = try store.admitAlone(pending) }
        let group = [try admission(project, start: true), try admission(project), try admission(project, estimate: "0.2", start: true)]
        for answer in store.runAdmissions(group) {
            guard case .admitted = try answer.get() else { return XCTFail("not decided in the group") }
        }
        XCTAssertEqual(try group.prefix(2).map { try shape($0.generation.id) }, try alone.map { try shape($0.generation.id) })
        XCTAssertTrue(try shape(alone[0].generation.id).hasPrefix("running 0.1 openai gpt-4o-mini"))
        XCTAssertTrue(try shape(alone[0].generation.id).hasSuffix(#"queued{"status": "queued", "estimate": "0.1"},started{}"#))
        XCTAssertEqual(try shape(group[2].generation.id), "none", "over the project's budget: refused, not created")
        let order: [String] = try admin.query("""
            select g.id::text as id from public.generations g join public.generation_events e on e.generation_id = g.id and e.type = 'queued'
            where g.id = any(\(group.map { $0.generation.id.uuidString.lowercased() })::uuid[]) order by e.id
            """).map { try $0.decode("id") }
        XCTAssertEqual(order, group.prefix(2).map { $0.generation.id.uuidString.lowercased() }, "created in the group's order")
    }

    /// An admission reads back only its generation's id, user and creation time: the rest of its record
    /// is what it sent, and that record is the one the whole row reads as, alone and in a group,
    /// started here or queued.
    func testAnAdmissionsRecordIsTheRecordOfItsRow() throws {
        let project = try project(limit: "10")
        let varied = { (start: Bool) throws -> PendingAdmission in
            try self.admission(project, estimate: "0.125", start: start, settings: GenerationSettings(maxOutputTokens: 64),
                               maxCost: "0.5", requested: (.openai, "gpt-4o-mini"))
        }
        var admitted: [GenerationRecord] = []
        for pending in [try varied(true), try varied(false), try admission(project)] {
            admitted.append(try XCTUnwrap(try store.admitAlone(pending).record))
        }
        for answer in store.runAdmissions([try varied(true), try varied(false), try admission(project, start: true)]) {
            guard case .admitted(_, let record?) = try answer.get() else { return XCTFail("not admitted in the group") }
            admitted.append(record)
        }
        XCTAssertEqual(admitted.map(\.status), [.running, .queued, .queued, .running, .queued, .running])
        for record in admitted {
            XCTAssertEqual(record, try store.get(record.id, claimsJSON: claims))
        }
    }

    /// Migration 184: a group's creation finds each item's reservation by the ledger's (generation_id,
    /// kind) index. Its first form was planned, on an analyzed ledger with a few thousand rows, as a
    /// hash of every reservation of the project (one sequential scan of the whole ledger per group).
    func testAGroupsCreationProbesItsReservationsInsteadOfScanningTheLedger() throws {
        let project = try project(limit: "1000")
        // An earlier history: 2,000 reservations, each released (they leave the totals as they were).
        try admin.query("""
            insert into public.budget_ledger (user_id, project_id, kind, amount, generation_id)
            select \(alice), \(project), k.kind, 0.001, g.id
            from (select gen_random_uuid() as id from generate_series(1, 2000)) g
            cross join (values ('reservation'), ('release')) k(kind)
            """)
        try admin.query("analyze public.budget_ledger")
        let group = try (0..<4).map { _ in try admission(project) }
        let ledger = PostgresBudgetLedger(pool: pool)
        for pending in group {
            XCTAssertTrue(try ledger.reserve(project: project, generation: pending.generation.id, amount: pending.generation.estimate,
                                             claimsJSON: claims).admitted)
        }
        let items = "[" + group.map(\.groupItem).joined(separator: ",") + "]"
        let ledgerReads = try pool.withUserScope(claimsJSON: claims) { transaction -> (scans: Int, rows: Int) in
            try transaction.query("select app_engine.admit_group(\(project), \(items)::jsonb)")
            // This transaction's own counts (this backend's, not yet reported).
            let row = try transaction.query("""
                select seq_scan::int as scans, seq_tup_read::int as rows from pg_stat_xact_user_tables
                where relid = 'public.budget_ledger'::regclass
                """)[0]
            return (try row.decode("scans"), try row.decode("rows"))
        }
        XCTAssertEqual(try generations(project), 4, "every reserved item was created")
        XCTAssertEqual(ledgerReads.rows, 0, "ledger rows read by sequential scans (\(ledgerReads.scans) scans)")
    }

    /// Each started admission of a group gets its own first attempt's clearance (the group's clearances
    /// come back in order, one per admission that asked): none for one that did not ask, none for a
    /// refused one, and the rate bucket refuses the one past its tokens.
    func testAGroupClearsEachStartedAdmissionsFirstAttemptInOrder() throws {
        let project = try project(limit: "0.45")
        try admin.query("""
            insert into public.provider_configs (user_id, provider, requests_per_minute) values (\(alice), 'openai', 2)
            """)
        let check = FirstAttemptCheck(provider: .openai, needsKey: false, at: Date(), cooldown: 30)
        let group = [try admission(project, start: true, clearing: check), try admission(project, start: true),
                     try admission(project, estimate: "0.3", start: true, clearing: check),
                     try admission(project, start: true, clearing: check), try admission(project, start: true, clearing: check)]
        var answers: [String] = []
        for answer in store.runAdmissions(group) {
            guard case .admitted(let outcome, let record) = try answer.get() else { return XCTFail("not decided in the group") }
            answers.append(!outcome.admitted ? "refused" : record?.firstAttempt.map { $0.skipReason ?? "cleared" } ?? "not asked")
        }
        XCTAssertEqual(answers, ["cleared", "not asked", "refused", "cleared", "rate_limited"])
    }

    /// Migration 180: `clear_first_attempts` clears a group's first attempts as consecutive
    /// `clear_first_attempt` calls do. One user's attempts are cleared one by one beside another
    /// user's same attempts as one group: a provider read once for the group (its key chosen and
    /// handed on with the last use the item before left), one blocked at some clocks and not at later
    /// ones with no key to choose, one whose circuit is open, one with no bucket yet (one by one, the
    /// first creating it), a keyless check, and a generation not started here (no row).
    func testAGroupsClearancesAreConsecutiveClearances() throws {
        let (bob, bobsClaims) = try secondUser()
        let base = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let at = { (seconds: Int) in base.addingTimeInterval(Double(seconds)) }
        var generations: [UUID: [UUID]] = [:]
        for (user, userClaims) in [(alice, claims), (bob, bobsClaims)] {
            let project: UUID = try admin.query("""
                insert into public.projects (user_id, name, budget_limit, budget_period) values (\(user), 'p', 10, 'total') returning id
                """)[0].decode("id")
            for (label, status, age) in [("older valid", "valid", 60), ("newer valid", "valid", 30), ("newest unchecked", "unchecked", 0)] {
                try admin.query("""
                    insert into public.user_api_keys (id, user_id, provider, label, ciphertext, key_version, mask_prefix, last4, fingerprint,
                                                      status, created_at)
                    values (\(UUID()), \(user), 'openai', \(label), '\\x01'::bytea, 1, 'sk-', 'abcd', \(Data(label.utf8)), \(status),
                            now() - make_interval(secs => \(age)))
                    """)
            }
            try admin.query("""
                insert into public.provider_rate_limits (user_id, provider, tokens, blocked_until, updated_at) values
                    (\(user), 'openai', 0, null, \(at(0))), (\(user), 'anthropic', 0, \(at(2)), \(at(0))),
                    (\(user), 'elevenlabs', 0, null, \(at(0)))
                """)
            try admin.query("""
                insert into public.provider_health (user_id, provider, consecutive_failures, reopen_at, updated_at)
                values (\(user), 'elevenlabs', 5, \(at(100)), \(at(0)))
                """)
            generations[user] = try (0..<9).map { index in
                let pending = try admission(project)
                let admitted = try store.admit(pending.generation, reserveOn: .openai, start: index != 3, leaseOwner: "test", leaseSeconds: 60,
                                               clearing: nil, claimsJSON: userClaims)
                return try XCTUnwrap(admitted.record?.id)
            }
        }
        let items: [(provider: String, clock: Date, needsKey: Bool)] = [
            ("openai", at(1), true), ("anthropic", at(1), true), ("openai", at(2), true), ("openai", at(2), true),
            ("elevenlabs", at(2), true), ("fal", at(3), false), ("anthropic", at(3), true), ("fal", at(4), false), ("openai", at(5), false),
        ]
        func answer(_ row: PostgresRow, _ user: UUID) throws -> String {
            let key: UUID? = try row.decodeIfPresent("key_id")
            let label = try key.map { try admin.query("select label from public.user_api_keys where id = \($0)")[0].decode("label", as: String.self) }
            let previous: Date? = try row.decodeIfPresent("previous_last_used_at")
            let owner: UUID? = try row.decodeIfPresent("key_user_id")
            return [try row.decodeIfPresent("skip_reason", as: String.self) ?? "cleared", label ?? "no key",
                    previous.map { "\($0.timeIntervalSince(base))" } ?? "never", owner.map { $0 == user ? "own" : "other" } ?? "-"]
                .joined(separator: " ")
        }
        var oneByOne: [String] = []
        for (index, item) in items.enumerated() {
            let rows = try pool.userScopeStatement(claimsJSON: claims, """
                select skip_reason, key_id, key_user_id, key_ciphertext, previous_last_used_at
                from app_engine.clear_first_attempt(\(generations[alice]![index]), \(item.provider), \(item.clock)::timestamptz, 30::float8,
                                                    \(item.needsKey))
                """)
            oneByOne.append(try rows.first.map { try answer($0, alice) } ?? "no row")
        }
        let rows = try pool.userScopeStatement(claimsJSON: bobsClaims, """
            select ordinal, skip_reason, key_id, key_user_id, key_ciphertext, previous_last_used_at
            from app_engine.clear_first_attempts(\(generations[bob]!.map { $0.uuidString.lowercased() })::uuid[], \(items.map(\.provider))::text[],
                                                 \(items.compactMap { $0.clock.postgresText })::timestamptz[], \(items.map { _ in "30" })::float8[],
                                                 \(items.map { $0.needsKey ? "true" : "false" })::boolean[])
            """)
        var grouped = Array(repeating: "no row", count: items.count)
        for row in rows { grouped[try row.decode("ordinal", as: Int.self) - 1] = try answer(row, bob) }
        XCTAssertEqual(grouped, oneByOne)
        XCTAssertEqual(oneByOne, ["cleared newer valid never own", "rate_limited no key never -", "cleared newer valid 1.0 own", "no row",
                                  "circuit_open no key never -", "cleared no key never -", "cleared no key never -", "cleared no key never -",
                                  "cleared no key never -"])
        let state = { (user: UUID) throws -> [String] in
            try self.admin.query("""
                select 'key ' || label || ' ' || coalesce(extract(epoch from last_used_at - \(base)::timestamptz)::text, 'never') as s
                from public.user_api_keys where user_id = \(user)
                union all
                select 'bucket ' || provider || ' ' || tokens::text || ' ' || coalesce(extract(epoch from blocked_until - \(base)::timestamptz)::text, '-')
                from public.provider_rate_limits where user_id = \(user)
                union all
                select 'health ' || provider || ' ' || coalesce(extract(epoch from reopen_at - \(base)::timestamptz)::text, '-')
                from public.provider_health where user_id = \(user)
                order by 1
                """).map { try $0.decode("s", as: String.self) }
        }
        let alicesState = try state(alice)
        XCTAssertEqual(try state(bob), alicesState)
        XCTAssertTrue(alicesState.contains("key newer valid 2.000000"), "\(alicesState)")
        XCTAssertTrue(alicesState.contains { $0.hasPrefix("bucket fal ") }, "the first fal clearance created its bucket")
    }

    /// The shared creation fails as a whole (one generation's id is taken): no generation of the group
    /// exists, every reservation stands, and each admission then creates its own alone; the one that
    /// cannot gives its reservation back.
    func testAGroupWhoseCreationFailsLeavesEachAdmissionToCreateItsOwn() throws {
        let project = try project(limit: "10")
        let taken = try store.create(NewGeneration(id: UUID(), projectID: project, kind: .text, prompt: "p", settings: GenerationSettings(),
                                                   requestedProvider: nil, requestedModel: nil,
                                                   candidates: [GenerationCandidate(provider: .local, model: "offline-text", estimate: .zero)],
                                                   estimate: .zero, maxCost: nil, pricingVersion: "v1"),
                                     leaseOwner: "test", leaseSeconds: 60, claimsJSON: claims)
        let group = [try admission(project), try admission(project, id: taken.id, estimate: "0.5"), try admission(project)]
        let answers = store.runAdmissions(group)
        XCTAssertEqual(try generations(project), 1, "the shared creation was rolled back")
        XCTAssertEqual(try reserved(project), "0.7")
        for (admission, answer) in zip(group, answers) {
            guard case .reserved(let rows) = try answer.get() else { return XCTFail("expected its reservation alone") }
            if admission.generation.id == taken.id {
                XCTAssertThrowsError(try store.createReserved(admission, reservation: rows)) {
                    XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "23505")
                }
            } else {
                let created = try store.createReserved(admission, reservation: rows)
                XCTAssertTrue(created.outcome.admitted)
                XCTAssertEqual(created.record?.id, admission.generation.id)
            }
        }
        XCTAssertEqual(answers.count, 3)
        XCTAssertEqual(try generations(project), 3)
        XCTAssertEqual(try reserved(project), "0.2", "the taken id's reservation was given back")
    }

    private func running(_ project: UUID, estimate: String) throws -> UUID {
        let pending = try admission(project, estimate: estimate)
        let admitted = try store.admit(pending.generation, reserveOn: .openai, start: true, leaseOwner: "test", leaseSeconds: 60,
                                       clearing: nil, claimsJSON: claims)
        return try XCTUnwrap(admitted.record?.id)
    }

    /// `answeredAt`: the end's answer was sent already, as the runner builds it (its record settled by
    /// the completion), stamped with that time.
    private func ending(_ id: UUID, cost: String?, costStatus: String = "priced", status: GenerationStatus = .succeeded,
                        assets: [NewAsset] = [], usage: Usage? = nil, report: AttemptReport? = nil,
                        answeredAt: Date? = nil) throws -> PendingFinish {
        var completion = GenerationCompletion(status: status, provider: .openai, model: "gpt-4o-mini", cost: try cost.map { try Money(parsing: $0) },
                                              costStatus: costStatus, providerReportedCost: nil, breakdown: nil, usage: usage,
                                              outputText: status == .succeeded ? "hi \"there\"/\n" : nil, assets: assets,
                                              errorCode: status == .succeeded ? nil : "provider_error",
                                              errorMessage: status == .succeeded ? nil : "it broke", recordsAttempt: status == .succeeded,
                                              providerScopeOnly: false, event: GenerationEvent(status.rawValue, ["note": "n"]),
                                              report: report)
        if let answeredAt {
            completion.answered = try XCTUnwrap(try store.get(id, claimsJSON: claims)).settled(by: completion, at: answeredAt)
        }
        return try PendingFinish(id, completion, claimsJSON: claims)
    }

    /// Migration 176: a group's attempt reports are one call, and leave the provider's health row as
    /// the same reports one by one would (here: the Domain transitions applied in order).
    func testAGroupsReportsLeaveTheHealthEachReportInTurnWould() throws {
        let project = try project(limit: "10")
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let outcomes: [AttemptOutcome] = [.success(latency: 0.1), .failure(code: "upstream_timeout", retryable: true),
                                          .success(latency: 0.4), .failure(code: "bad_request", retryable: false)]
        let ids = try outcomes.map { _ in try running(project, estimate: "0.5") }
        let group = try zip(ids, outcomes).enumerated().map { index, pair in
            try ending(pair.0, cost: "0.1", report: AttemptReport(provider: .openai, outcome: pair.1, rateLimit: nil, policy: .standard,
                                                                  at: start.addingTimeInterval(Double(index))))
        }
        for answer in store.runFinishes(group) {
            guard case .finished = try answer.get() else { return XCTFail("not ended in the group") }
        }
        var expected = ProviderHealthState.unknown
        for (index, outcome) in outcomes.enumerated() {
            expected = expected.recording(outcome, at: start.addingTimeInterval(Double(index)))
        }
        // The reports are not waited for (`unanswered`): they commit just after the ends.
        let health: SQL = """
            select consecutive_failures, last_error_code, latency_ms, extract(epoch from last_success_at)::float8 as success
            from public.provider_health where user_id = \(alice) and provider = 'openai'
            """
        let deadline = Date().addingTimeInterval(5)
        var written = try admin.query(health).first
        while written == nil, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
            written = try admin.query(health).first
        }
        let row = try XCTUnwrap(written, "the group's reports were written")
        XCTAssertEqual(try row.decode("consecutive_failures", as: Int.self), expected.consecutiveFailures)
        XCTAssertEqual(try row.decode("last_error_code", as: String.self), expected.lastErrorCode)
        XCTAssertEqual(try row.decode("latency_ms", as: Double.self), try XCTUnwrap(expected.latencyMilliseconds), accuracy: 1e-9)
        XCTAssertEqual(try row.decode("success", as: Double.self), try XCTUnwrap(expected.lastSuccessAt).timeIntervalSince1970, accuracy: 1e-6)
    }

    /// Migration 181: a group's reports write the health and bucket rows consecutive `report_attempt`
    /// calls write, to the bit: one user's reports one by one beside another user's same reports as
    /// one group. openai's are all successes on an existing row (folded into one write, two of them
    /// speaking of the rate, so its bucket is created once); anthropic's include a failure and start
    /// with no row (one by one); fal's first report has no row yet either.
    func testAGroupsReportsWriteWhatConsecutiveReportsWrite() throws {
        let (bob, bobsClaims) = try secondUser()
        let base = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        for user in [alice, bob] {
            try admin.query("""
                insert into public.provider_health (user_id, provider, consecutive_failures, last_error_code, last_error_at, latency_ms, updated_at)
                values (\(user), 'openai', 2, 'upstream_timeout', \(base), 250.0, \(base))
                """)
        }
        // provider, seconds after base, succeeded, latency ms, error, retryable, weight, rate observed, remaining
        let reports: [(String, Int, Bool, Double, String?, Bool?, Double, Bool, Double?)] = [
            ("openai", 1, true, 100.1, nil, nil, 0.2, false, nil), ("anthropic", 1, true, 80, nil, nil, 0.2, true, 5),
            ("openai", 2, true, 37.7, nil, nil, 0.3, true, 10), ("openai", 3, true, 1000.27, nil, nil, 0.15, true, 9),
            ("anthropic", 2, false, 0, "upstream_timeout", true, 0.2, false, nil), ("fal", 3, true, 12, nil, nil, 0.2, false, nil),
            ("openai", 4, true, 0.3, nil, nil, 0.25, false, nil),
        ]
        let rows: [SQL] = reports.map { report in
            let (provider, seconds, succeeded, latency, error, retryable, weight, rateObserved, remaining) = report
            return """
                row(\(provider), \(base.addingTimeInterval(Double(seconds)))::timestamptz, \(succeeded), \(latency)::float8, \(error)::text,
                    \(retryable)::boolean, 5, 30::float8, \(weight)::float8, \(rateObserved), \(remaining)::float8, null::timestamptz)::app_engine.attempt_report
                """
        }
        for row in rows {
            _ = try pool.userScopeStatement(claimsJSON: claims, "select app_engine.report_attempt(\(row))")
        }
        _ = try pool.userScopeStatement(claimsJSON: bobsClaims, try XCTUnwrap(PostgresGenerationStore.reportAll(rows)))
        let state = { (user: UUID) throws -> [String] in
            try self.admin.query("""
                select 'health ' || provider || ' ' || consecutive_failures || ' ' || coalesce(last_error_code, '-') || ' '
                       || coalesce(extract(epoch from last_error_at - \(base)::timestamptz)::text, '-') || ' '
                       || coalesce(extract(epoch from last_success_at - \(base)::timestamptz)::text, '-') || ' '
                       || coalesce(latency_ms::text, '-') || ' ' || coalesce(extract(epoch from reopen_at - \(base)::timestamptz)::text, '-') || ' '
                       || extract(epoch from updated_at - \(base)::timestamptz)::text as s
                from public.provider_health where user_id = \(user)
                union all
                select 'bucket ' || provider || ' ' || tokens::text || ' ' || coalesce(blocked_until::text, '-') || ' '
                       || extract(epoch from updated_at - \(base)::timestamptz)::text
                from public.provider_rate_limits where user_id = \(user)
                order by 1
                """).map { try $0.decode("s", as: String.self) }
        }
        let alicesState = try state(alice)
        XCTAssertEqual(try state(bob), alicesState)
        XCTAssertTrue(alicesState.contains { $0.hasPrefix("health openai 0 upstream_timeout 0.000000 4.000000 ") && $0.hasSuffix(" - 4.000000") },
                      "\(alicesState)")
        // 250 moved by 100.1 (0.2), 37.7 (0.3), 1000.27 (0.15) and 0.3 (0.25), in order, in IEEE doubles as PostgreSQL's
        // float8 (values where moving it as l + (x - l) × w would differ in the last bit).
        var expected = 250.0
        for (latency, weight) in [(100.1, 0.2), (37.7, 0.3), (1000.27, 0.15), (0.3, 0.25)] { expected = expected * (1 - weight) + latency * weight }
        let latency: Double = try admin.query("""
            select latency_ms from public.provider_health where user_id = \(bob) and provider = 'openai'
            """)[0].decode("latency_ms")
        XCTAssertEqual(latency, expected)
        XCTAssertTrue(alicesState.contains("bucket openai 0 - 2.000000"), "created by the first report that spoke of the rate: \(alicesState)")
        XCTAssertEqual(alicesState.count, 5, "health of openai, anthropic and fal; buckets of openai and anthropic: \(alicesState)")
    }

    /// What an end wrote for a generation, ids and times left out: its row, events, attempts, assets
    /// and ledger entries.
    private func endShape(_ id: UUID) throws -> String {
        try admin.query("""
            select g.status || ' ' || coalesce(g.actual_cost::text, '-') || ' ' || coalesce(g.cost_status, '-') || ' '
                   || coalesce(g.output_text, '-') || ' ' || coalesce(g.error_code, '-') || ' ' || coalesce(g.error_message, '-') || ' '
                   || coalesce(g.usage::text, '-') || ' ' || coalesce(g.finish_reason, '-') || ' ' || (g.finished_at is not null)::text
                   || ' | ' || (select string_agg(e.type || e.payload::text, ',' order by e.id) from public.generation_events e
                                where e.generation_id = g.id)
                   || ' | ' || coalesce((select string_agg(a.number || a.status || a.model, ',' order by a.number)
                                         from public.generation_attempts a where a.generation_id = g.id), '-')
                   || ' | ' || coalesce((select string_agg(a.kind || a.content_type || a.bytes || a.sha256 || a.storage_key, ',' order by a.storage_key)
                                         from public.assets a where a.generation_id = g.id), '-')
                   || ' | ' || (select string_agg(l.kind || l.amount::text || case when l.scopes_implied then ' implied' else '' end
                                                  || coalesce(' ' || l.scope_provider, ''), ',' order by l.kind)
                                from public.budget_ledger l where l.generation_id = g.id)
                   || ' | ' || coalesce((select string_agg(e.scope || e.kind || e.amount::text, ',' order by e.scope, e.kind)
                                         from public.budget_scope_entries e where e.generation_id = g.id), '-') as shape
            from public.generations g where g.id = \(id)
            """)[0].decode("shape")
    }

    /// Migration 171: `finish_group` ends each generation as `finish_generation` alone does: the same
    /// row, events, attempts, assets and ledger entries, for a success with assets and usage, a failure
    /// released without a charge, and a success charged nothing; a generation named twice is ended once.
    func testAGroupEndsEachGenerationAsItsOwnEndWould() throws {
        let project = try project(limit: "10")
        let asset = { (n: Int) -> NewAsset in
            let sha = String(repeating: "\(n)", count: 64)
            let key = "users/\(self.alice.uuidString.lowercased())/sha256/\(sha.prefix(2))/\(sha.dropFirst(2).prefix(2))/\(sha)"
            return NewAsset(kind: .text, contentType: "text/plain; charset=utf-8", blob: StoredBlob(key: key, sha256: sha, bytes: 12))
        }
        let usage = Usage(inputTokens: 12, outputTokens: 9)
        let endings = { (ids: [UUID]) throws -> [PendingFinish] in
            [try self.ending(ids[0], cost: "0.25", assets: [asset(1), asset(2)], usage: usage),
             try self.ending(ids[1], cost: nil, costStatus: "unpriced", status: .failed),
             try self.ending(ids[2], cost: "0", usage: usage)]
        }
        let alone = try (0..<3).map { _ in try running(project, estimate: "0.5") }
        for ending in try endings(alone) { XCTAssertNotNil(try store.finishAlone(ending)) }
        let grouped = try (0..<3).map { _ in try running(project, estimate: "0.5") }
        // The last generation named twice: both go one by one, and only the first ends it.
        let answers = store.runFinishes(try endings(grouped) + [try ending(grouped[2], cost: "0.125")])
        var details: [GenerationDetail?] = []
        for answer in answers {
            guard case .finished(let detail) = try answer.get() else { return XCTFail("not ended in the group") }
            details.append(detail)
        }
        XCTAssertEqual(try grouped.map(endShape), try alone.map(endShape))
        XCTAssertEqual(details.map { $0?.assets.count }, [2, 0, 0, nil])
        XCTAssertEqual(details.map { $0?.attempts.count }, [1, 0, 1, nil])
        XCTAssertTrue(try endShape(grouped[0]).contains("charge0.25 implied"), "the charge row charges the scopes its reservation held")
        XCTAssertEqual(try reserved(project), "0.0")
    }

    /// An end whose answer was sent already writes what any end writes, alone and in a group, and is
    /// not read back: its answer is the record it was answered with (stamped here with a time the
    /// database never wrote), without attempts. A group with one end still waited for reads every
    /// end back.
    func testAnAnsweredEndIsWrittenAsAnyEndButNotReadBack() throws {
        let project = try project(limit: "10")
        let usage = Usage(inputTokens: 12, outputTokens: 9)
        let answeredAt = Date(timeIntervalSince1970: 1_000_000)
        let plain = try running(project, estimate: "0.5")
        XCTAssertNotNil(try store.finishAlone(try ending(plain, cost: "0.25", usage: usage)))

        let alone = try running(project, estimate: "0.5")
        let aloneDetail = try XCTUnwrap(try store.finishAlone(try ending(alone, cost: "0.25", usage: usage, answeredAt: answeredAt)))
        let grouped = try (0..<2).map { _ in try running(project, estimate: "0.5") }
        var groupDetails: [GenerationDetail] = []
        for answer in store.runFinishes(try grouped.map { try ending($0, cost: "0.25", usage: usage, answeredAt: answeredAt) }) {
            guard case .finished(let detail?) = try answer.get() else { return XCTFail("not ended in the group") }
            groupDetails.append(detail)
        }
        for detail in [aloneDetail] + groupDetails {
            XCTAssertEqual(detail.generation.status, .succeeded)
            XCTAssertEqual(detail.generation.finishedAt, answeredAt, "the answer's record, not the row read back")
            XCTAssertEqual(detail.attempts.count, 0)
        }
        XCTAssertEqual(groupDetails.map(\.generation.id), grouped)
        for id in [alone] + grouped { XCTAssertEqual(try endShape(id), try endShape(plain)) }

        let mixed = try (0..<2).map { _ in try running(project, estimate: "0.5") }
        var mixedDetails: [GenerationDetail] = []
        for answer in store.runFinishes([try ending(mixed[0], cost: "0.25", usage: usage, answeredAt: answeredAt),
                                         try ending(mixed[1], cost: "0.25", usage: usage)]) {
            guard case .finished(let detail?) = try answer.get() else { return XCTFail("not ended in the group") }
            mixedDetails.append(detail)
        }
        XCTAssertEqual(mixedDetails.map { $0.generation.finishedAt == answeredAt }, [false, false], "read back")
        XCTAssertEqual(mixedDetails.map(\.attempts.count), [1, 1])
        XCTAssertEqual(try spent(project), "1.50")
        XCTAssertEqual(try reserved(project), "0.0")
    }

    private func spent(_ project: UUID) throws -> String {
        try admin.query("select spent_total::text as s from public.project_budget_totals where project_id = \(project)")[0].decode("s")
    }

    func testAGroupOfEndsSettlesEachAsItsOwnEndWould() throws {
        let project = try project(limit: "10")
        let ids = try (0..<3).map { _ in try running(project, estimate: "0.5") }
        let alreadyEnded = try running(project, estimate: "0.5")
        XCTAssertNotNil(try store.finishAlone(try ending(alreadyEnded, cost: "0.1")))
        let answers = store.runFinishes(try zip(ids + [alreadyEnded], ["0.1", "0.2", "0.3", "0.4"]).map { try ending($0, cost: $1) })
        var ended: [String?] = []
        for answer in answers {
            guard case .finished(let detail) = try answer.get() else { return XCTFail("not ended in the group") }
            ended.append(detail.map { "\($0.generation.status.rawValue) \($0.generation.actualCost?.description ?? "-") \($0.attempts.count)" })
        }
        XCTAssertEqual(ended, ["succeeded 0.10 1", "succeeded 0.20 1", "succeeded 0.30 1", nil], "the one ended before is left as it was")
        XCTAssertEqual(try spent(project), "0.7")
        XCTAssertEqual(try reserved(project), "0.0")
    }

    /// One end the database refuses (here: an unknown cost status) fails the shared transaction: none
    /// of the group is written, and each end, run again alone, gets its own answer.
    func testAGroupWhoseEndsTransactionFailsLeavesEachEndToRunAlone() throws {
        let project = try project(limit: "10")
        let ids = try (0..<3).map { _ in try running(project, estimate: "0.5") }
        let group = [try ending(ids[0], cost: "0.1"), try ending(ids[1], cost: "0.2", costStatus: "bogus"), try ending(ids[2], cost: "0.3")]
        let answers = store.runFinishes(group)
        for answer in answers {
            guard case .alone = try answer.get() else { return XCTFail("expected to run alone") }
        }
        XCTAssertEqual(answers.count, 3)
        XCTAssertEqual(try spent(project), "0", "nothing of the group was written")
        XCTAssertEqual(try reserved(project), "1.5")
        XCTAssertEqual(try store.finishAlone(group[0])?.generation.status, .succeeded)
        XCTAssertThrowsError(try store.finishAlone(group[1])) { XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "22023") }
        XCTAssertEqual(try store.finishAlone(group[2])?.generation.status, .succeeded)
        XCTAssertEqual(try spent(project), "0.4")
        XCTAssertEqual(try reserved(project), "0.5")
    }

    /// Migration 170: `reserve_group` answers each generation exactly as consecutive `reserve` calls
    /// answer it, scope by scope: here one user's calls one by one beside another user's same sequence
    /// as one group (providers mixed, one without a provider, one free but needing headroom, one over
    /// the project's budget), on projects and scopes alike.
    func testAGroupsReservationsAreDecidedAsConsecutiveReservationsAre() throws {
        let (bob, bobsClaims) = try secondUser()
        let alicesProject = try project(limit: "0.0035")
        let bobsProject: UUID = try admin.query("""
            insert into public.projects (user_id, name, budget_limit, budget_period) values (\(bob), 'p', 0.0035, 'total') returning id
            """)[0].decode("id")
        let steps: [(amount: String, provider: String?)] = [("0.001", "openai"), ("0.001", "openai"), ("0.001", nil), ("0.001", "anthropic"),
                                                              ("0", "openai"), ("0.0006", "openai")]
        func figures(_ row: PostgresRow) throws -> String {
            let limit: Decimal? = try row.decodeIfPresent("budget_limit")
            let entry: UUID? = try row.decodeIfPresent("entry_id")
            return [try row.decode("scope", as: String.self), "\(try row.decode("admitted", as: Bool.self))", "\(try row.decode("fits", as: Bool.self))",
                    limit.map { "\($0)" } ?? "-", "\(try row.decode("spent", as: Decimal.self))", "\(try row.decode("reserved", as: Decimal.self))",
                    entry == nil ? "no entry" : "entry"].joined(separator: " ")
        }
        var oneByOne: [[String]] = []
        for step in steps {
            let rows = try pool.userScopeStatement(claimsJSON: claims, """
                select scope, entry_id, admitted, fits, budget_limit, spent, reserved
                from app_ledger.reserve(\(alicesProject), \(UUID()), \(step.amount)::numeric, \(step.provider))
                """)
            oneByOne.append(try rows.map(figures))
        }
        let group = try pool.userScopeStatement(claimsJSON: bobsClaims, """
            select ordinal, scope, entry_id, admitted, fits, budget_limit, spent, reserved
            from app_ledger.reserve_group(\(bobsProject), \(steps.map { _ in UUID().uuidString.lowercased() })::uuid[],
                                          \(steps.map(\.amount))::numeric[],
                                          array(select nullif(p, '') from unnest(\(steps.map { $0.provider ?? "" })::text[]) with ordinality u(p, k) order by k))
            """)
        var grouped = Array(repeating: [String](), count: steps.count)
        for row in group { grouped[try row.decode("ordinal", as: Int.self) - 1].append(try figures(row)) }
        XCTAssertEqual(grouped, oneByOne)
        XCTAssertEqual(oneByOne.map { $0.first ?? "" }.map { $0.split(separator: " ")[1] }, ["true", "true", "true", "false", "true", "false"],
                       "the fourth is over the project's budget, the free one fits its headroom, the last does not fit")
        let entries = { (user: UUID) throws -> [String] in
            try self.admin.query("""
                select kind || ' ' || scopes_implied::text || ' ' || coalesce(scope_provider, '-') || ' ' || count(*)::text || ' '
                       || sum(amount)::text as e
                from public.budget_ledger where user_id = \(user) group by kind, scopes_implied, scope_provider
                """).map { try $0.decode("e", as: String.self) }
        }
        XCTAssertEqual(try entries(bob), try entries(alice))
        XCTAssertEqual(try reserved(bobsProject), try reserved(alicesProject))
    }

    // The ends of `end_group` beside the same ends one by one (migrations 171 and 186).

    /// A figures row of an end as one comparable line.
    private static func figures(_ row: PostgresRow) throws -> String {
        let limit: Decimal? = try row.decodeIfPresent("budget_limit")
        let entry: UUID? = try row.decodeIfPresent("entry_id")
        return [try row.decode("scope", as: String.self), limit.map { "\($0)" } ?? "-", "\(try row.decode("spent", as: Decimal.self))",
                "\(try row.decode("reserved", as: Decimal.self))", entry == nil ? "no entry" : "entry"].joined(separator: " ")
    }

    /// Alice's ends one at a time (a charge when a cost is given, on `charged` or the reserved
    /// provider; a release otherwise), each end's figures rows.
    private func endOneByOne(_ ids: [UUID], _ ends: [(cost: String?, charged: String?)]) throws -> [[String]] {
        try zip(ids, ends).map { id, end in
            try pool.userScopeStatement(claimsJSON: claims, end.cost.map { cost in
                "select scope, entry_id, budget_limit, spent, reserved from app_ledger.settle(\(id), \(cost)::numeric, \(end.charged))"
            } ?? "select scope, entry_id, budget_limit, spent, reserved from app_ledger.release_scoped(\(id))").map(Self.figures)
        }
    }

    /// The same ends as one `end_group` call.
    private static func endGroup(_ ids: [UUID], _ ends: [(cost: String?, charged: String?)]) -> SQL {
        """
        select ordinal, scope, entry_id, budget_limit, spent, reserved
        from app_ledger.end_group(\(ids.map { $0.uuidString.lowercased() })::uuid[],
                                  array(select nullif(c, '')::numeric from unnest(\(ends.map { $0.cost ?? "" })::text[]) with ordinality u(c, k) order by k),
                                  array(select nullif(p, '') from unnest(\(ends.map { $0.charged ?? "" })::text[]) with ordinality u(p, k) order by k))
        """
    }

    /// A user's ledger and scope entries, counted and summed by kind.
    private func ledgerEntries(_ user: UUID) throws -> [String] {
        try admin.query("""
            select t || ' ' || kind || ' ' || count(*)::text || ' ' || sum(amount)::text as e
            from (select 'project' || case when scopes_implied then ' implied ' || coalesce(scope_provider, '-') else '' end as t,
                         kind, amount from public.budget_ledger where user_id = \(user)
                  union all select scope, kind, amount from public.budget_scope_entries where user_id = \(user)) x
            group by t, kind order by t, kind
            """).map { try $0.decode("e", as: String.self) }
    }

    /// A user's scope rows: spent and reserved by scope.
    private func scopeTotals(_ user: UUID) throws -> [String] {
        try admin.query("""
            select scope || ' ' || spent::text || ' ' || reserved::text as t from public.budget_scope_totals where user_id = \(user) order by scope
            """).map { try $0.decode("t", as: String.self) }
    }

    /// Migration 171: `end_group` ends each generation exactly as consecutive `end_scoped` calls (through
    /// `settle` and `release_scoped`) end it, scope by scope: here one user's ends one by one beside
    /// another user's same sequence as one group (charged on the reserved provider, charged on another
    /// one as after a fallback, released, a reservation without a provider, a zero cost), projects and
    /// scopes alike; a group naming a generation twice, or one ended already, ends none of them.
    func testAGroupsEndsAreDecidedAsConsecutiveEndsAre() throws {
        let (bob, bobsClaims) = try secondUser()
        try admin.query("insert into public.user_budgets (user_id, monthly_limit) values (\(alice), 5), (\(bob), 5)")
        let alicesProject = try project(limit: "10")
        let bobsProject: UUID = try admin.query("""
            insert into public.projects (user_id, name, budget_limit, budget_period) values (\(bob), 'p', 10, 'total') returning id
            """)[0].decode("id")
        // (reserved amount, reserved provider, cost or nil for a release, provider charged)
        let steps: [(amount: String, reserved: String?, cost: String?, charged: String?)] = [
            ("0.5", "openai", "0.1", "openai"), ("0.5", "openai", "0.2", "anthropic"), ("0.5", "openai", nil, nil),
            ("0.5", nil, "0.3", nil), ("0.25", "anthropic", "0", "anthropic"), ("0.5", "openai", "0.05", nil)]
        func reserve(_ project: UUID, claims: String) throws -> [UUID] {
            try steps.map { step in
                let id = UUID()
                _ = try pool.userScopeStatement(claimsJSON: claims, """
                    select scope from app_ledger.reserve(\(project), \(id), \(step.amount)::numeric, \(step.reserved))
                    """)
                return id
            }
        }
        let alicesIDs = try reserve(alicesProject, claims: claims)
        let oneByOne = try endOneByOne(alicesIDs, steps.map { ($0.cost, $0.charged) })
        let bobsIDs = try reserve(bobsProject, claims: bobsClaims)
        let call = { (ids: [UUID]) -> SQL in Self.endGroup(ids, steps.map { ($0.cost, $0.charged) }) }
        var twice = bobsIDs
        twice[5] = twice[0]
        XCTAssertThrowsError(try pool.userScopeStatement(claimsJSON: bobsClaims, call(twice))) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "55000", "a generation named twice ends once")
        }
        let group = try pool.userScopeStatement(claimsJSON: bobsClaims, call(bobsIDs))
        var grouped = Array(repeating: [String](), count: steps.count)
        for row in group { grouped[try row.decode("ordinal", as: Int.self) - 1].append(try Self.figures(row)) }
        XCTAssertEqual(grouped, oneByOne)
        XCTAssertEqual(oneByOne[1].map { $0.split(separator: " ")[0] }, ["project", "provider:anthropic", "provider:openai", "user"],
                       "the fallback's charge goes to the provider that answered, the reservation's scope is released")
        XCTAssertThrowsError(try pool.userScopeStatement(claimsJSON: bobsClaims, call(bobsIDs))) {
            XCTAssertEqual(($0 as? DatabaseError)?.sqlState, "55000", "ended already")
        }
        XCTAssertEqual(try ledgerEntries(bob), try ledgerEntries(alice))
        XCTAssertEqual(try scopeTotals(bob), try scopeTotals(alice))
        XCTAssertEqual(try reserved(bobsProject), try reserved(alicesProject))
        XCTAssertEqual(try spent(bobsProject), try spent(alicesProject))
        XCTAssertEqual(try spent(alicesProject), "0.65")
    }

    /// Migration 186: a group whose holds include scope entries (a fallback moved one generation's
    /// provider hold to another provider) is decided from those entries, not from the reservation
    /// rows alone, and still ends each generation exactly as consecutive ends do: the same figures
    /// row by row, the same entries and the same totals.
    func testAGroupWithAMovedHoldEndsAsConsecutiveEndsDo() throws {
        let (bob, bobsClaims) = try secondUser()
        try admin.query("insert into public.user_budgets (user_id, monthly_limit) values (\(alice), 5), (\(bob), 5)")
        let alicesProject = try project(limit: "10")
        let bobsProject: UUID = try admin.query("""
            insert into public.projects (user_id, name, budget_limit, budget_period) values (\(bob), 'p', 10, 'total') returning id
            """)[0].decode("id")
        // (cost or nil for a release, provider charged or nil for the one held)
        let steps: [(cost: String?, charged: String?)] = [("0.1", nil), ("0.2", nil), (nil, nil), ("0.3", "openai")]
        func prepare(_ project: UUID, claims: String) throws -> [UUID] {
            let ids = steps.map { _ in UUID() }
            for id in ids {
                _ = try pool.userScopeStatement(claimsJSON: claims, "select scope from app_ledger.reserve(\(project), \(id), 0.5::numeric, 'openai')")
            }
            // The second one's fallback: its provider hold moves from OpenAI to Anthropic.
            _ = try pool.userScopeStatement(claimsJSON: claims, "select scope from app_ledger.hold_provider(\(ids[1]), 0.5::numeric, 'anthropic')")
            return ids
        }
        let alicesIDs = try prepare(alicesProject, claims: claims)
        let oneByOne = try endOneByOne(alicesIDs, steps.map { ($0.cost, $0.charged) })
        let bobsIDs = try prepare(bobsProject, claims: bobsClaims)
        let group = try pool.userScopeStatement(claimsJSON: bobsClaims, Self.endGroup(bobsIDs, steps.map { ($0.cost, $0.charged) }))
        var grouped = Array(repeating: [String](), count: steps.count)
        for row in group { grouped[try row.decode("ordinal", as: Int.self) - 1].append(try Self.figures(row)) }
        XCTAssertEqual(grouped, oneByOne)
        XCTAssertEqual(oneByOne[1].map { $0.split(separator: " ")[0] }, ["project", "provider:anthropic", "user"],
                       "the moved hold is charged where it moved to; the OpenAI hold it left was released by the move")
        XCTAssertEqual(try ledgerEntries(bob), try ledgerEntries(alice))
        XCTAssertTrue(try ledgerEntries(bob).contains("provider:anthropic release 1 0.5"),
                      "the moved hold is a scope entry of its own, which the end ends with one")
        XCTAssertTrue(try ledgerEntries(bob).contains("project implied anthropic charge 1 0.2"), "its charge names the provider it moved to")
        XCTAssertEqual(try scopeTotals(bob), try scopeTotals(alice))
        XCTAssertEqual(try reserved(bobsProject), try reserved(alicesProject))
        XCTAssertEqual(try spent(bobsProject), try spent(alicesProject))
    }
}
