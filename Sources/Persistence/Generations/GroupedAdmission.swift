import Domain
import Foundation

/// One admission's statements: its creation (the generation it admitted, of which only its id, user
/// and creation time are read back, `GenerationSQL.admitted`, and its first attempt cleared when it
/// starts here), and how to read them with its reservation's rows (its reservation is sent with its
/// group's, `reserveGroup`). In a group, its generation is one element of
/// `app_engine.admit_group`'s array (`groupItem`) and read back with the group's.
struct PendingAdmission {
    /// A group's most admissions (`admit_group` takes at most 64).
    static let groupLimit = 32

    let generation: NewGeneration
    let claimsJSON: String
    /// What the first attempt's clearance checks, when the generation starts here (a group sends its
    /// admissions' checks together, `createGroup`; a lone one sends `clearing`).
    let check: FirstAttemptCheck?
    private let start: Bool
    private let lease: (owner: String, seconds: Int)
    // The JSON arguments, written once for whichever form runs.
    private let settings: String
    private let candidates: String

    init(_ generation: NewGeneration, start: Bool, leaseOwner: String, leaseSeconds: Int, clearing check: FirstAttemptCheck?,
         claimsJSON: String) throws {
        settings = try GenerationJSON.settings(generation.settings)
        candidates = GenerationJSON.candidates(generation.candidates)
        self.generation = generation
        self.claimsJSON = claimsJSON
        self.start = start
        lease = (leaseOwner, leaseSeconds)
        self.check = start ? check : nil
    }

    /// The first attempt's clearance run alone (`clear_first_attempt`), when the generation starts here.
    var clearing: SQL? {
        check.map { check in """
            select skip_reason, key_id, key_user_id, key_ciphertext, previous_last_used_at
            from app_engine.clear_first_attempt(\(generation.id), \(check.provider.rawValue), \(check.at)::timestamptz,
                                                \(check.cooldown)::float8, \(check.needsKey))
            """ }
    }

    private var provider: String? { generation.candidates.first?.provider.rawValue }

    /// The creation run alone: `admit_reserved`, the row read back, the clearance.
    var creation: [SQL] {
        ["""
         select app_engine.admit_reserved(
             \(generation.id), \(generation.projectID), \(generation.kind.rawValue), \(generation.prompt), \(settings)::jsonb,
             \(generation.requestedProvider?.rawValue), \(generation.requestedModel), \(provider),
             \(generation.candidates.first?.model), \(candidates)::jsonb, \(generation.estimate.amount)::numeric,
             \(generation.maxCost?.amount)::numeric, \(generation.pricingVersion), \(lease.owner), \(lease.seconds), \(start))
         """, "select \(GenerationSQL.admittedColumns) from public.generations g where g.id = \(generation.id)"] + (clearing.map { [$0] } ?? [])
    }

    /// The creation run with others: the object `admit_group` reads (migration 172), `admit_reserved`'s
    /// arguments by name.
    var groupItem: String {
        var item = StoredJSONWriter()
        item.beginObject()
        item.member("generation", generation.id.lowercasedString)
        item.member("kind", generation.kind.rawValue)
        item.member("prompt", generation.prompt)
        item.member("parameters", json: settings)
        item.member("requested_provider", generation.requestedProvider?.rawValue)
        item.member("requested_model", generation.requestedModel)
        item.member("provider", provider)
        item.member("model", generation.candidates.first?.model)
        item.member("candidates", json: candidates)
        item.member("estimate", generation.estimate.amount.description)
        item.member("max_cost", generation.maxCost.map { $0.amount.description })
        item.member("pricing_version", generation.pricingVersion)
        item.member("lease_owner", lease.owner)
        item.member("lease_seconds", lease.seconds)
        item.member("start", start)
        item.endObject()
        return item.text
    }

    /// The answer from the reservation's rows and the creation's (one row set per statement of
    /// `creation`): no generation when the reservation was refused.
    func decode(reservation: [PostgresRow], creation rows: [[PostgresRow]]) throws
        -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        guard rows.count == (check == nil ? 2 : 3) else { throw DomainError.notFound(resource: "project") }
        return try decode(reservation: reservation, row: rows[1].first, clearance: rows.count == 3 ? rows[2].first : nil)
    }

    /// The answer from the reservation's rows, the generation's row (none: not created) and its first
    /// attempt's clearance (none: not started here, or not created).
    func decode(reservation: [PostgresRow], row: PostgresRow?, clearance: PostgresRow?) throws
        -> (outcome: ReservationOutcome, record: GenerationRecord?) {
        guard let first = reservation.first else { throw DomainError.notFound(resource: "project") }
        let scoped = ScopedReservation(admitted: try first.decode("admitted"),
                                       scopes: try reservation.map { try PostgresBudgetLedger.figures($0) }, amount: generation.estimate)
        var record = try row.map { try GenerationSQL.admitted(generation, start: start, row: $0) }
        if let check, let clearance {
            record?.firstAttempt = try Self.clearance(clearance, check)
        }
        return (LedgerReservations.outcome(of: scoped), record)
    }

    private static func clearance(_ row: PostgresRow, _ check: FirstAttemptCheck) throws -> FirstAttemptClearance {
        var key: AdmittedKey?
        if let id: UUID = try row.decodeIfPresent("key_id") {
            key = AdmittedKey(sealed: SealedApiKey(id: id, userID: try row.decode("key_user_id"), provider: check.provider,
                                                   ciphertext: try row.decode("key_ciphertext")),
                              previousLastUsedAt: try row.decodeIfPresent("previous_last_used_at"), markedAt: check.at)
        }
        return FirstAttemptClearance(provider: check.provider, skipReason: try row.decodeIfPresent("skip_reason"), key: key)
    }
}

/// Admissions (and ends) group by project and by the exact claims they run under, so a group's
/// shared transactions act for one caller only, as each alone would.
struct ProjectWriterKey: Hashable, Sendable {
    let projectID: UUID
    let claimsJSON: String

    /// From the project and the claims' length only: a project has one owner, whose tokens share a
    /// bucket at most and are told apart by the full comparison of equality. Hashing the whole claims
    /// text for every admission and end cost more than the rest of finding its group.
    func hash(into hasher: inout Hasher) {
        hasher.combine(projectID)
        hasher.combine(claimsJSON.utf8.count)
    }
}

/// What a group's run tells each of its admissions.
enum AdmissionAnswer {
    /// Decided and written with the group.
    case admitted(ReservationOutcome, GenerationRecord?)
    /// Nothing of it was written: it runs again alone, on its own thread.
    case alone
    /// Its reservation committed with the group's but the shared creation failed: it creates its
    /// generation alone (and gives the reservation back if that fails too).
    case reserved([PostgresRow])
}

typealias AdmissionGroups = GroupCommit<ProjectWriterKey, PendingAdmission, AdmissionAnswer>

extension PostgresGenerationStore {
    /// A group's admissions in one round trip and two transactions: every reservation in one call of
    /// `app_ledger.reserve_group`, in arrival order, so each is decided against the totals the ones
    /// before it left (the project row and the scopes are locked once for all of them, the entries
    /// written by one statement per table); then every admitted generation's creation. As for one admission,
    /// the first COMMIT does not wait for the disk and the second, synchronous one flushes both
    /// before any answer is given. A transaction that fails as a whole is answered per admission:
    /// the reservations not written are run again alone, the creations not written are run alone for
    /// the reservations that were.
    func runAdmissions(_ group: [PendingAdmission]) -> [Result<AdmissionAnswer, any Error>] {
        // A lone admission runs here too, so the ones arriving meanwhile gather for the next group.
        if group.count == 1, let admission = group.first {
            return [Result { try admitAlone(admission) }.map { .admitted($0.outcome, $0.record) }]
        }
        guard let claimsJSON = group.first?.claimsJSON else { return [] }
        let outcome: TransactionsOutcome
        do {
            outcome = try pool.userScopeTransactions(claimsJSON: claimsJSON, [
                [Self.reserveGroup(group), ConnectionPool.asynchronousCommit],
                Self.createGroup(group),
            ])
        } catch {
            // Thrown only when nothing was written (no connection, or one ended before it ran).
            return group.map { _ in .failure(error) }
        }
        // Nothing committed (the reservations' transaction failed): each runs alone. Committed but not
        // read back as sent: as one admission's short answer is.
        guard let reserved = outcome.committed.first?.first else { return group.map { _ in .success(.alone) } }
        let reservations: [[PostgresRow]]
        do {
            reservations = try Self.split(reserved, into: group.count)
        } catch {
            return group.map { _ in .failure(error) }
        }
        guard outcome.failure == nil, outcome.committed.count == 2 else {
            return group.indices.map { .success(.reserved(reservations[$0])) }
        }
        let created = outcome.committed[1]
        let clearing = Self.startingHere(group)
        // Committed, but not answered as sent: as one admission's short answer is.
        guard created.count == (clearing.isEmpty ? 2 : 3) else {
            return group.map { _ in .failure(DomainError.notFound(resource: "project")) }
        }
        var rows: [UUID: PostgresRow] = [:]
        var clearances: [UUID: PostgresRow] = [:]
        do {
            for row in created[1] { rows[try row.decode("id", as: UUID.self)] = row }
            for row in created.count == 3 ? created[2] : [] {
                let ordinal: Int = try row.decode("ordinal")
                guard clearing.indices.contains(ordinal - 1) else { throw DecodingFailure(column: "ordinal", expected: "1...\(clearing.count)") }
                clearances[clearing[ordinal - 1].id] = row
            }
        } catch {
            return group.map { _ in .failure(error) }
        }
        return group.indices.map { index in
            let clearance = clearances[group[index].generation.id]
            return Result {
                let (outcome, record) = try group[index].decode(reservation: reservations[index], row: rows[group[index].generation.id],
                                                                clearance: clearance)
                return .admitted(outcome, record)
            }
        }
    }

    /// A group's creations (migration 172): every admitted generation in one `admit_group` call, all
    /// of them read back by one statement, then every started one's first attempt cleared in order
    /// by one `clear_first_attempts` call (migration 180), its rows numbered by position among them.
    static func createGroup(_ group: [PendingAdmission]) -> [SQL] {
        guard let first = group.first else { return [] }
        let items = "[" + group.map(\.groupItem).joined(separator: ",") + "]"
        let ids = group.map { $0.generation.id.lowercasedString }
        let creation: [SQL] = ["""
                                select app_engine.admit_group(\(first.generation.projectID), \(items)::jsonb)
                                """,
                               "select \(GenerationSQL.admittedColumns) from public.generations g where g.id = any(\(ids)::uuid[])"]
        let clearing = startingHere(group)
        guard !clearing.isEmpty else { return creation }
        let generations = clearing.map { $0.id.lowercasedString }
        let providers = clearing.map { $0.check.provider.rawValue }
        let clocks = clearing.compactMap { $0.check.at.postgresText }
        let cooldowns = clearing.map { String($0.check.cooldown) }
        let needsKeys = clearing.map { $0.check.needsKey ? "true" : "false" }
        return creation + ["""
            select ordinal, skip_reason, key_id, key_user_id, key_ciphertext, previous_last_used_at
            from app_engine.clear_first_attempts(\(generations)::uuid[], \(providers)::text[], \(clocks)::timestamptz[],
                                                 \(cooldowns)::float8[], \(needsKeys)::boolean[])
            """]
    }

    /// The group's admissions whose first attempt is cleared here, in group order: the items of
    /// `clear_first_attempts`, whose rows are numbered by position in this list.
    static func startingHere(_ group: [PendingAdmission]) -> [(id: UUID, check: FirstAttemptCheck)] {
        group.compactMap { admission in admission.check.map { (admission.generation.id, $0) } }
    }

    /// Every reservation of a group in one call (migration 170): each generation decided in order,
    /// its rows numbered by its position (from 1). Ids, amounts and providers go as bound arrays; a
    /// generation reserving on no provider sends an empty name, NULL to the function.
    static func reserveGroup(_ group: [PendingAdmission]) -> SQL {
        let projectID = group.first?.generation.projectID
        let ids = group.map { $0.generation.id.lowercasedString }
        let amounts = group.map { $0.generation.estimate.amount.description }
        let providers = group.map { $0.generation.candidates.first?.provider.rawValue ?? "" }
        return """
            select ordinal, scope, entry_id, admitted, fits, budget_limit, spent, reserved
            from app_ledger.reserve_group(\(projectID), \(ids)::uuid[], \(amounts)::numeric[],
                                          array(select nullif(p, '') from unnest(\(providers)::text[]) with ordinality u(p, k) order by k))
            """
    }

    /// A lone admission's reservation: `app_ledger.reserve` (migration 175), the same rows as a group
    /// of one without the group's bookkeeping.
    static func reserveAlone(_ admission: PendingAdmission) -> SQL {
        let generation = admission.generation
        return """
            select scope, entry_id, admitted, fits, budget_limit, spent, reserved
            from app_ledger.reserve(\(generation.projectID), \(generation.id), \(generation.estimate.amount)::numeric,
                                    \(generation.candidates.first?.provider.rawValue)::text)
            """
    }

    /// The rows of `reserve_group`, one list per generation in group order; every generation has rows.
    static func split(_ rows: [PostgresRow], into count: Int) throws -> [[PostgresRow]] {
        var lists = Array(repeating: [PostgresRow](), count: count)
        for row in rows {
            let ordinal: Int = try row.decode("ordinal")
            guard (1...count).contains(ordinal) else { throw DecodingFailure(column: "ordinal", expected: "1...\(count)") }
            lists[ordinal - 1].append(row)
        }
        guard !lists.contains(where: \.isEmpty) else { throw DecodingFailure(column: "ordinal", expected: "rows for every generation") }
        return lists
    }
}
