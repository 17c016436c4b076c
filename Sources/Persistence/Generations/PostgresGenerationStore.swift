import Domain
import Foundation

/// `GenerationStore` on the tables of migration 010. Reads run in the user's scope (RLS); every
/// write is one call of an `app_engine` function, which allows only the lifecycle's transitions.
public struct PostgresGenerationStore: GenerationStore {
    let pool: ConnectionPool
    let admissions: AdmissionGroups
    let finishes: FinishGroups

    /// `settlementGatheringSeconds`: how long a settlement whose answer was sent already may wait
    /// for others of its project to be written with (`GroupCommit`'s gathering; 0: never waits), for
    /// up to `PendingFinish.gatheredEnough` in all, or `gatheredAtMost` while `roomForMoreSettlements`
    /// says the threads the waiting ones hold are not needed elsewhere.
    public init(pool: ConnectionPool, settlementGatheringSeconds: Double = 0, roomForMoreSettlements: (@Sendable () -> Bool)? = nil) {
        self.pool = pool
        // A request queued for its project's writer waits as long as one waiting for a connection would.
        self.admissions = AdmissionGroups(limit: PendingAdmission.groupLimit, queueTimeout: pool.configuration.acquireTimeout)
        self.finishes = FinishGroups(limit: PendingFinish.groupLimit, queueTimeout: pool.configuration.acquireTimeout,
                                     gathering: .init(longest: settlementGatheringSeconds, enough: PendingFinish.gatheredEnough,
                                                      more: PendingFinish.gatheredAtMost, roomForMore: roomForMoreSettlements))
    }

    /// Settlements gathering company are written now: someone waits to read what they write.
    public func hurrySettlements() {
        finishes.hurry()
    }

    public func create(_ generation: NewGeneration, leaseOwner: String, leaseSeconds: Int, claimsJSON: String) throws -> GenerationRecord {
        let settings = try GenerationJSON.settings(generation.settings)
        let candidates = GenerationJSON.candidates(generation.candidates)
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, """
                select \(GenerationSQL.columns) from app_engine.create_generation(
                    \(generation.id), \(generation.projectID), \(generation.kind.rawValue), \(generation.prompt), \(settings)::jsonb,
                    \(generation.requestedProvider?.rawValue), \(generation.requestedModel), \(generation.candidates.first?.provider.rawValue),
                    \(generation.candidates.first?.model), \(candidates)::jsonb, \(generation.estimate.amount)::numeric,
                    \(generation.maxCost?.amount)::numeric, \(generation.pricingVersion), \(leaseOwner), \(leaseSeconds)) g
                """)
        guard let row = rows.first else { throw DomainError.notFound(resource: "project") }
        return try GenerationSQL.record(row)
    }

    public func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
                      claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        try admit(generation, reserveOn: provider, start: start, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds, clearing: nil,
                  claimsJSON: claimsJSON)
    }

    public func admit(_ generation: NewGeneration, reserveOn provider: ProviderID?, start: Bool, leaseOwner: String, leaseSeconds: Int,
                      clearing check: FirstAttemptCheck?, claimsJSON: String) throws -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        let admission = try PendingAdmission(generation, start: start, leaseOwner: leaseOwner, leaseSeconds: leaseSeconds,
                                             clearing: check, claimsJSON: claimsJSON)
        // One project's admissions under the same claims share a writer (GroupedAdmission.swift): a lone
        // one runs at once as below; those that arrive while it runs are admitted together next.
        let key = ProjectWriterKey(projectID: generation.projectID, claimsJSON: claimsJSON)
        switch try admissions.submit(admission, key: key, run: runAdmissions) {
        case .admitted(let outcome, let record):
            return (outcome, record)
        case .alone:
            return try admitAlone(admission)
        case .reserved(let rows):
            return try createReserved(admission, reservation: rows)
        }
    }

    /// One admission in one round trip and one transaction: the reservation (`app_ledger.reserve`,
    /// migration 175), the generation it admitted (none when refused), read back, and its first
    /// attempt cleared (no row when refused). A group's admissions keep the reservations in a
    /// transaction of their own (migration 143), so the project row they lock is free again before
    /// the generations' rows, the rate-limit rows and the keys are written; a lone admission holds it
    /// that much longer, and saves a transaction's setup and commit on every generation that meets no
    /// other one (every generation at one connection). Nothing is left to release when it fails.
    func admitAlone(_ admission: PendingAdmission) throws -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        let outcome = try pool.userScopeTransactions(claimsJSON: admission.claimsJSON, [[Self.reserveAlone(admission)] + admission.creation])
        if let (_, error) = outcome.failure {
            if error.sqlState == "P0002" { throw DomainError.notFound(resource: "project") }
            throw error
        }
        guard let results = outcome.committed.first, let reservation = results.first else { throw DomainError.notFound(resource: "project") }
        return try admission.decode(reservation: reservation, creation: Array(results.dropFirst()))
    }

    /// The second half alone, for a reservation a group committed whose shared creation failed.
    func createReserved(_ admission: PendingAdmission, reservation: [PostgresRow]) throws
        -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        let outcome = try pool.userScopeTransactions(claimsJSON: admission.claimsJSON, [admission.creation])
        if let (_, error) = outcome.failure {
            releaseUncreated(admission, reservation: reservation)
            throw error
        }
        guard let creation = outcome.committed.first else { throw DomainError.notFound(resource: "project") }
        return try admission.decode(reservation: reservation, creation: creation)
    }

    /// Reserved, but the generation was not created: gives the reservation back now rather than leave
    /// it to the sweep (which releases one without a generation after five minutes).
    func releaseUncreated(_ admission: PendingAdmission, reservation: [PostgresRow]) {
        guard let first = reservation.first, (try? first.decode("admitted", as: Bool.self)) == true else { return }
        _ = try? pool.userScopeStatement(claimsJSON: admission.claimsJSON,
                                         "select scope from app_ledger.release_scoped(\(admission.generation.id))")
    }

    public func finish(_ id: UUID, inProject projectID: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws
        -> GenerationDetail? {
        let ending = try PendingFinish(id, completion, claimsJSON: claimsJSON)
        // As admissions: one project's ends under the same claims share a writer (GroupedFinish.swift).
        let key = ProjectWriterKey(projectID: projectID, claimsJSON: claimsJSON)
        switch try finishes.submit(ending, key: key, mayGather: completion.answeredBeforeSettlement, run: runFinishes) {
        case .finished(let detail):
            return detail
        case .alone:
            return try finishAlone(ending)
        }
    }

    /// One end in one round trip, two transactions: the end (settlement included) and its attempts and
    /// assets, then the attempt's report on its own, so the rate-limit and health rows it writes are not
    /// held while the ledger's project lock is, nor the project row while they are written. A report
    /// lost to a failure is dropped, as a failed report always is; the paid result stands. For the same
    /// reason its COMMIT does not wait for the disk: a crash of PostgreSQL may lose the last health and
    /// rate observations, never the settlement before it.
    func finishAlone(_ ending: PendingFinish) throws -> GenerationDetail? {
        // The report's outcome changes no answer: it is not waited for (`unanswered`).
        let report: [[SQL]] = ending.report.map { [["select app_engine.report_attempt(\($0))", ConnectionPool.asynchronousCommit]] } ?? []
        let outcome = try pool.userScopeTransactions(claimsJSON: ending.claimsJSON, [ending.statements], unanswered: report)
        if let (transaction, error) = outcome.failure, transaction == 0 {
            throw PendingFinish.answer(to: error)
        }
        guard let results = outcome.committed.first else { return nil }
        if ending.answered != nil {
            return results.first?.isEmpty == false ? Self.answeredDetail(ending) : nil
        }
        return try Self.detail(from: results)
    }

    public func finishCanceled(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws -> GenerationDetail? {
        let breakdown = try completion.breakdown.map(GenerationJSON.costBreakdown)
        let usage = try GenerationJSON.usage(of: completion)
        let charge: SQL
        if completion.providerScopeOnly {
            let assets = GenerationJSON.assets(completion.assets)
            // Migration 151: a batch item's provider scope charged, with its row and outputs.
            charge = """
                select \(GenerationSQL.columns) from app_engine.finish_canceled_item(
                    \(id), \(completion.provider.rawValue), \(completion.model), \(completion.cost?.amount)::numeric, \(completion.costStatus),
                    \(completion.providerReportedCost?.amount)::numeric, \(breakdown)::jsonb, \(usage)::jsonb, \(completion.outputText),
                    \(assets)::jsonb, \(completion.recordsAttempt), \(completion.finishReason.map { String($0.prefix(64)) })) g
                """
        } else {
            // Migration 152: every scope settled after a failed call whose usage is charged.
            charge = """
                select \(GenerationSQL.columns) from app_engine.finish_canceled_call(
                    \(id), \(completion.provider.rawValue), \(completion.model), \(completion.cost?.amount)::numeric, \(completion.costStatus),
                    \(completion.providerReportedCost?.amount)::numeric, \(breakdown)::jsonb, \(usage)::jsonb) g
                """
        }
        // The charge and the row, then its attempts and assets, in one round trip.
        return try Self.detail(from: try pool.userScopeRoundTrip(claimsJSON: claimsJSON, [charge] + Self.attemptsAndAssets(of: id)))
    }

    public func endProviderWork(_ id: UUID, claimsJSON: String) throws -> Bool {
        // Migration 160.
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, "select app_engine.end_provider_work(\(id)) as ended")
        return try rows.first?.decodeIfPresent("ended", as: Bool.self) ?? false
    }

    public func advance(_ id: UUID, to status: GenerationStatus?, changes: GenerationChanges, event: GenerationEvent?,
                        claimsJSON: String) throws -> GenerationRecord? {
        let changesJSON = try GenerationJSON.changes(changes)
        let payload = event.map { GenerationColumnsEncoding.stringMap($0.payload) }
        // The change's report first, in the same transaction (one round trip).
        let report: [SQL] = changes.report.map { ["select app_engine.report_attempt(\(AttemptReportSQL.value($0)))"] } ?? []
        let rows = try pool.userScopeRoundTrip(claimsJSON: claimsJSON, report + ["""
            select \(GenerationSQL.columns) from app_engine.advance(\(id), \(status?.rawValue), \(event?.type), \(changesJSON)::jsonb,
                                                                \(payload)::jsonb) g
            """])
        return try rows.last?.first.map(GenerationSQL.record)
    }

    public func recordAttempt(_ id: UUID, provider: ProviderID, model: String, error: ProviderError?, report: AttemptReport?,
                              claimsJSON: String) throws {
        let message = error.map { String($0.message.prefix(2000)) }
        let rows = try pool.userScopeRoundTrip(claimsJSON: claimsJSON, ["""
            select app_engine.record_attempt(\(id), \(provider.rawValue), \(model), \(error == nil ? "succeeded" : "failed"),
                                             \(error?.code), \(message), \(error?.httpStatus), \(error?.isRetryable), \(error?.providerRequestID),
                                             \(AttemptReportSQL.value(report))) as number
            """])
        // Null: not the caller's, or it ended (the report is kept all the same).
        guard try rows.first?.first?.decodeIfPresent("number", as: Int.self) != nil else {
            throw DomainError.notFound(resource: "generation")
        }
    }

    public func addAsset(_ id: UUID, kind: MediaKind, contentType: String, blob: StoredBlob, claimsJSON: String) throws -> UUID {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, """
                select app_engine.add_asset(\(id), \(kind.rawValue), \(contentType), \(blob.bytes), \(blob.sha256), \(blob.key)) as id
                """)
        guard let row = rows.first else { throw DomainError.notFound(resource: "generation") }
        return try row.decode("id")
    }

    public func get(_ id: UUID, claimsJSON: String) throws -> GenerationRecord? {
        let rows = try pool.userScopeRoundTrip(claimsJSON: claimsJSON, readOnly: true, [
            "select \(GenerationSQL.columns) from public.generations g where g.id = \(id)"])
        return try rows.first?.first.map(GenerationSQL.record)
    }

    public func detail(_ id: UUID, claimsJSON: String) throws -> GenerationDetail? {
        try Self.detail(from: pool.userScopeRoundTrip(claimsJSON: claimsJSON, readOnly: true,
                                                      ["select \(GenerationSQL.columns) from public.generations g where g.id = \(id)"]
                                                        + Self.attemptsAndAssets(of: id)))
    }

    /// The reads that complete a generation's detail, sent in the same round trip as its row.
    static func attemptsAndAssets(of id: UUID) -> [SQL] {
        ["""
         select \(GenerationSQL.attemptColumns) from public.generation_attempts where generation_id = \(id) order by number
         """,
         "select \(GenerationSQL.assetColumns) from public.assets a where a.generation_id = \(id) order by a.created_at, a.id"]
    }

    /// A detail from the results of [the row, `attemptsAndAssets`]; nil without the row.
    static func detail(from results: [[PostgresRow]]) throws -> GenerationDetail? {
        guard results.count == 3, let row = results[0].first else { return nil }
        return GenerationDetail(generation: try GenerationSQL.record(row), attempts: try results[1].map(GenerationSQL.attempt),
                                assets: try results[2].map(GenerationSQL.asset))
    }

    public func list(_ filter: GenerationFilter, claimsJSON: String) throws -> GenerationPage {
        var condition: SQL = "true"
        if let project = filter.projectID { condition = "\(condition) and g.project_id = \(project)" }
        if let status = filter.status { condition = "\(condition) and g.status = \(status.rawValue)" }
        if let kind = filter.kind { condition = "\(condition) and g.kind = \(kind.rawValue)" }
        if let provider = filter.provider { condition = "\(condition) and g.provider = \(provider.rawValue)" }
        if let after = filter.createdAfter { condition = "\(condition) and g.created_at >= \(after)" }
        if let before = filter.createdBefore { condition = "\(condition) and g.created_at < \(before)" }
        if let cursor = filter.cursor {
            condition = """
                \(condition) and (g.created_at, g.id) < (timestamptz 'epoch' + \(cursor.createdMicroseconds)::bigint * interval '1 microsecond', \(cursor.id))
                """
        }
        let limit = max(1, min(filter.limit, 100))
        // The page ends early where its prompts, texts and parameters pass `ListedPages.maximumBytes`
        // (the first row always comes): `found` says how many the limit itself would have given.
        let bytes: SQL = "(octet_length(g.prompt) + coalesce(octet_length(g.output_text), 0) + octet_length(g.parameters::text))"
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true, """
                select * from (
                    select \(GenerationSQL.columns), (extract(epoch from g.created_at) * 1000000)::bigint as created_key,
                           sum(\(bytes)) over (order by g.created_at desc, g.id desc rows unbounded preceding) - \(bytes) as bytes_before,
                           count(*) over () as found
                    from (select * from public.generations g where \(condition) order by g.created_at desc, g.id desc limit \(limit + 1)) g
                ) listed where bytes_before < \(ListedPages.maximumBytes) order by created_at desc, id desc
                """)
        let page = Array(rows.prefix(limit))
        var next: GenerationCursor?
        if let found = try rows.first?.decode("found", as: Int.self), found > page.count, let last = page.last {
            next = GenerationCursor(createdMicroseconds: try last.decode("created_key"), id: try last.decode("id"))
        }
        return try Self.listedRows.page(of: page[...], next: next, decode: GenerationSQL.record)
    }

    /// What the listing decoded lately, row by row (`ListedRowMemo`): at most 4 MiB.
    static let listedRows = ListedRowMemo<GenerationRecord>()

    public func asset(_ id: UUID, claimsJSON: String) throws -> AssetRecord? {
        let rows = try pool.userScopeStatement(claimsJSON: claimsJSON, readOnly: true,
            "select \(GenerationSQL.assetColumns) from public.assets a where a.id = \(id)")
        return try rows.first.map(GenerationSQL.asset)
    }

    public func claimIdempotencyKey(_ key: String, requestHash: String, staleAfterSeconds: Int, claimsJSON: String) throws -> IdempotencyClaim {
        let rows = try pool.userScopeRoundTrip(claimsJSON: claimsJSON, ["""
            select state, response_status, response_body from app_engine.claim_idempotency_key(\(key), \(requestHash), \(staleAfterSeconds))
            """])
        guard let row = rows.first?.first else { return .pending }
        switch try row.decode("state", as: String.self) {
        case "claimed": return .claimed
        case "mismatch": return .mismatch
        case "replay":
            return .replay(status: try row.decode("response_status"), body: try row.decodeIfPresent("response_body") ?? "")
        default: return .pending
        }
    }

    public func finishIdempotencyKey(_ key: String, status: Int?, body: String?, claimsJSON: String) throws {
        _ = try pool.userScopeRoundTrip(claimsJSON: claimsJSON, ["select app_engine.finish_idempotency_key(\(key), \(status), \(body))"])
    }

    public func claimWork(owner: String, leaseSeconds: Int, limit: Int) throws -> [(id: UUID, userID: UUID, batchItem: Bool)] {
        // Cross-user by nature: the worker then acts for each owner in the owner's scope.
        // The claim commits without waiting for its WAL flush (`synchronous_commit = off`, this
        // transaction only): a claim lost to a crash of PostgreSQL within the next few hundred
        // milliseconds only leaves its rows as they were, queued or with an expired lease, so the
        // next claim takes them again. Nothing outside the database acted on it durably first:
        // whatever the claimer then does (submit, settle) is written in transactions that do
        // wait for the flush, and a submission marked in flight is never repeated. One flush
        // per claim was what bounded one-row claims to the disk's commit rate. Oldest lease first
        // (never leased first), on the index of migration 111, so rows claimed a moment ago (their
        // lease in the future) are never walked past.
        let results = try pool.serviceRoleRoundTrip(asynchronousCommit: true, ["""
            update public.generations g set lease_owner = \(owner),
                   lease_expires_at = now() + make_interval(secs => \(leaseSeconds)), updated_at = now()
            where g.id in (
                select c.id from public.generations c
                where c.status in ('queued', 'running') and (c.lease_expires_at is null or c.lease_expires_at < now())
                order by c.lease_expires_at nulls first limit \(limit) for update skip locked)
            returning g.id, g.user_id,
                      -- Every admitted generation holds a reservation of its own; a batch item does not.
                      not exists (select from public.budget_ledger l where l.generation_id = g.id and l.kind = 'reservation') as batch_item
            """])
        let rows = results.first ?? []
        return try rows.map { (try $0.decode("id"), try $0.decode("user_id"), try $0.decode("batch_item")) }
    }

    public func nextLeaseExpiry() throws -> Date? {
        let rows = try pool.serviceRoleStatement("""
                select min(g.lease_expires_at) as next from public.generations g
                where g.status in ('queued', 'running') and g.lease_expires_at > now()
                """)
        return try rows.first?.decodeIfPresent("next", as: Date.self)
    }

    public func deleteExpiredIdempotencyKeys(olderThanSeconds: Int, limit: Int) throws -> Int {
        let rows = try pool.serviceRoleStatement("""
                with expired as (
                    select k.user_id, k.key from public.idempotency_keys k
                    where k.created_at < now() - make_interval(secs => \(olderThanSeconds)) order by k.created_at limit \(limit)
                ), deleted as (
                    delete from public.idempotency_keys k using expired e where k.user_id = e.user_id and k.key = e.key returning 1
                )
                select count(*)::integer as n from deleted
                """)
        return try rows.first?.decode("n", as: Int.self) ?? 0
    }

    public func unendedReservations(limit: Int) throws -> [UnendedReservation] {
        // A minute's grace after the end (the ending process settles at once), five minutes for a
        // reservation without a generation (admission creates it in the next statement).
        let rows = try pool.withServiceRole { transaction in
            // A batch's reservation (migration 060) is keyed by the batch, not a generation: it
            // ends once every item has ended, charged with the sum of the succeeded items' costs.
            try transaction.query("""
                select * from (
                    -- A generation canceled while the provider held its work (a submission in flight, a
                    -- task) whose outcome was never recorded: its process died before it could, so
                    -- the provider may have billed it (`outcome_unknown`). Left alone while a live
                    -- process still holds its lease.
                    select l.generation_id, l.user_id, g.status, g.actual_cost, g.provider, l.created_at, false as scope_only,
                           coalesce(g.status = 'canceled' and g.cost_status is null
                                    and (g.submitting is not null or g.provider_task is not null), false) as outcome_unknown
                    from public.budget_ledger l
                    left join public.generations g on g.id = l.generation_id
                    where l.kind = 'reservation' and l.generation_id is not null
                      and not exists (select from public.budget_ledger e
                                      where e.generation_id = l.generation_id and e.kind in ('release', 'charge'))
                      and ((g.id is null and l.created_at < now() - interval '5 minutes'
                            and not exists (select from public.generation_batches b where b.id = l.generation_id))
                           or (g.status in ('succeeded', 'failed', 'canceled', 'expired') and g.finished_at < now() - interval '1 minute'
                               and not (g.status = 'canceled' and (g.submitting is not null or g.provider_task is not null) and g.lease_expires_at > now())))
                    union all
                    select b.id, b.user_id, 'succeeded'::text,
                           (select coalesce(sum(i.actual_cost), 0) from public.generations i
                            where i.id in (select (e->>'generation_id')::uuid from jsonb_array_elements(b.items) e)
                              and i.actual_cost is not null),
                           -- Items may have been served by several providers; the batch settles on its own scopes.
                           null::text,
                           b.created_at, false, false
                    from public.generation_batches b
                    where b.created_at < now() - interval '1 minute'
                      and exists (select from public.budget_ledger l where l.generation_id = b.id and l.kind = 'reservation')
                      and not exists (select from public.budget_ledger e where e.generation_id = b.id and e.kind in ('release', 'charge'))
                      and not exists (select from public.generations i
                                      where i.id in (select (e->>'generation_id')::uuid from jsonb_array_elements(b.items) e)
                                        and (i.status in ('queued', 'running') or i.finished_at > now() - interval '1 minute'
                                             -- Its charge first (the item's own row below): the batch's sum includes it.
                                             or \(GenerationSQL.itemAwaitingCharge)))
                    union all
                    -- A batch item's provider-scope hold (migration 080) whose item ended without ending it;
                    -- canceled while the provider held its work, charged as an unknown outcome as above.
                    select e.generation_id, e.user_id, g.status, g.actual_cost, g.provider, e.created_at, true,
                           coalesce(g.status = 'canceled' and g.cost_status is null
                                    and (g.submitting is not null or g.provider_task is not null), false)
                    from public.budget_scope_entries e
                    join public.generations g on g.id = e.generation_id
                    where e.kind = 'reservation' and e.scope like 'provider:%'
                      and not exists (select from public.budget_scope_entries r
                                      where r.generation_id = e.generation_id and r.scope = e.scope and r.kind in ('release', 'charge'))
                      and not exists (select from public.budget_ledger l where l.generation_id = e.generation_id)
                      and g.status in ('succeeded', 'failed', 'canceled', 'expired') and g.finished_at < now() - interval '1 minute'
                      and not (g.status = 'canceled' and (g.submitting is not null or g.provider_task is not null) and g.lease_expires_at > now())
                ) u
                order by u.created_at limit \(limit)
                """)
        }
        return try rows.map { row in
            // Only a charged end (succeeded, or failed after the provider billed it) carries a cost.
            UnendedReservation(
                generationID: try row.decode("generation_id"), userID: try row.decode("user_id"),
                cost: try row.decodeIfPresent("actual_cost", as: Decimal.self).map(Money.init(roundingToMaximumScale:)),
                provider: try row.decodeIfPresent("provider", as: String.self).flatMap(ProviderID.init(rawValue:)),
                providerScopeOnly: try row.decode("scope_only"), outcomeUnknown: try row.decode("outcome_unknown"))
        }
    }
}
