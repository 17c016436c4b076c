import Domain
import Foundation

/// One end's statements (`app_engine.finish_generation`, which settles the reservation and locks the
/// project row, then the generation's attempts and assets), the same end as an element of
/// `app_engine.finish_group`'s array, and its attempt's report.
struct PendingFinish {
    /// A group's most ends (`finish_group` takes at most 64).
    static let groupLimit = 32
    /// A gathering settlement stops waiting once this many of its project's ends are queued: each
    /// holds a provider thread meanwhile, and four already share most of a transaction's cost.
    static let gatheredEnough = 4
    /// While the provider threads it holds are not missed (`PostgresGenerationStore`'s
    /// `roomForMoreSettlements`: low load), it waits for up to this many: groups of eight meet the
    /// next request half as often as groups of four, and cost PostgreSQL less per end (at one
    /// connection about 0.8x its CPU per generation, BENCHMARKS.md run AA).
    static let gatheredAtMost = 8

    let claimsJSON: String
    let generation: UUID
    /// The attempt's report as a value (`AttemptReportSQL`), sent after the end.
    let report: SQL?
    /// The answer sent already (`GenerationCompletion.answered`): the end is not read back.
    var answered: GenerationRecord? { completion.answered }
    private let completion: GenerationCompletion
    // The JSON arguments, written once for whichever form runs.
    private let assets: String
    private let breakdown: String?
    private let usage: String?
    private let event: String

    init(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws {
        assets = GenerationJSON.assets(completion.assets)
        breakdown = try completion.breakdown.map(GenerationJSON.costBreakdown)
        usage = try GenerationJSON.usage(of: completion)
        event = GenerationColumnsEncoding.stringMap(completion.event.payload)
        self.claimsJSON = claimsJSON
        self.completion = completion
        generation = id
        report = completion.report.map(AttemptReportSQL.value)
    }

    /// The end run alone: `finish_generation`, then the generation's attempts and assets; for an end
    /// answered already, only whether it ended (a row, or none).
    var statements: [SQL] {
        let call: SQL = """
            app_engine.finish_generation(
                \(generation), \(completion.status.rawValue), \(completion.provider.rawValue), \(completion.model),
                \(completion.cost?.amount)::numeric, \(completion.costStatus), \(completion.providerReportedCost?.amount)::numeric,
                \(breakdown)::jsonb, \(usage)::jsonb, \(completion.outputText), \(completion.errorCode), \(errorMessage),
                \(assets)::jsonb, \(completion.providerScopeOnly), null::text, \(event)::jsonb, \(completion.recordsAttempt),
                \(finishReason)) g
            """
        if answered != nil { return ["select g.id from \(call)"] }
        return ["select \(GenerationSQL.columns) from \(call)"] + PostgresGenerationStore.attemptsAndAssets(of: generation)
    }

    /// The end run with others: the object `finish_group` reads (migration 171), `finish_generation`'s
    /// arguments by name.
    var groupItem: String {
        var item = StoredJSONWriter()
        item.beginObject()
        item.member("generation", generation.lowercasedString)
        item.member("to_status", completion.status.rawValue)
        item.member("provider", completion.provider.rawValue)
        item.member("model", completion.model)
        item.member("cost", completion.cost.map { $0.amount.description })
        item.member("cost_status", completion.costStatus)
        item.member("provider_reported_cost", completion.providerReportedCost.map { $0.amount.description })
        item.member("cost_lines", json: breakdown)
        item.member("usage", json: usage)
        item.member("output_text", completion.outputText)
        item.member("error_code", completion.errorCode)
        item.member("error_message", errorMessage)
        item.member("assets", json: assets)
        item.member("provider_scope_only", completion.providerScopeOnly)
        item.member("event", json: event)
        item.member("with_attempt", completion.recordsAttempt)
        item.member("finish_reason", finishReason)
        item.endObject()
        return item.text
    }

    private var errorMessage: String? { completion.errorMessage.map { String($0.prefix(2000)) } }
    private var finishReason: String? { completion.finishReason.map { String($0.prefix(64)) } }

    /// What a failed end means to its caller: 55000 is a reservation settled or released already.
    static func answer(to error: DatabaseError) -> any Error {
        guard error.sqlState == "55000" else { return error }
        return DomainError.conflict(code: "reservation_ended", detail: "The reservation was already settled or released.")
    }
}

/// What a group's run tells each of its ends.
enum FinishAnswer {
    /// Ended with the group: the generation as it then is (nil: not the caller's, or ended otherwise).
    case finished(GenerationDetail?)
    /// Nothing of it was written: it runs again alone, on its own thread.
    case alone
}

typealias FinishGroups = GroupCommit<ProjectWriterKey, PendingFinish, FinishAnswer>

extension PostgresGenerationStore {
    /// A group's ends in one round trip: every end, in arrival order, in one transaction and one
    /// `finish_group` call (the project row and scopes are locked once for all of them, the ledger
    /// entries written by one statement per table), then every report in a second one whose COMMIT
    /// does not wait for the disk and whose outcome is not waited for, as one end's is not. When the ends' transaction fails as a whole (one of
    /// them was settled meanwhile, say) nothing of it was written and each end runs again alone, so
    /// each gets its own answer; a failed report is dropped, as one end's is.
    func runFinishes(_ group: [PendingFinish]) -> [Result<FinishAnswer, any Error>] {
        // A lone end runs here too, so the ones arriving meanwhile gather for the next group.
        if group.count == 1, let ending = group.first {
            return [Result { try finishAlone(ending) }.map { .finished($0) }]
        }
        guard let claimsJSON = group.first?.claimsJSON else { return [] }
        let reports = Self.reportAll(group.compactMap(\.report))
        let outcome: TransactionsOutcome
        do {
            outcome = try pool.userScopeTransactions(claimsJSON: claimsJSON, [Self.groupEnds(group)],
                                                     unanswered: reports.map { [[$0, ConnectionPool.asynchronousCommit]] } ?? [])
        } catch {
            // Thrown only when nothing was written (no connection, or one ended before it ran).
            return group.map { _ in .failure(error) }
        }
        guard let ended = outcome.committed.first else { return group.map { _ in .success(.alone) } }
        return Self.details(of: group, from: ended)
    }

    /// A group's attempt reports in one call (migration 176), each still written and dropped alone.
    static func reportAll(_ reports: [SQL]) -> SQL? {
        guard var list = reports.first else { return nil }
        for report in reports.dropFirst() { list = list + ", " + report }
        return "select app_engine.report_attempts(array[\(list)])"
    }

    /// The group's ends, then every attempt and asset of its generations: three statements; when
    /// every end was answered already, only which of them ended (one statement).
    static func groupEnds(_ group: [PendingFinish]) -> [SQL] {
        let items = "[" + group.map(\.groupItem).joined(separator: ",") + "]"
        if allAnswered(group) {
            return ["select f.ordinal from app_engine.finish_group(\(items)::jsonb) f"]
        }
        let ids = group.map { $0.generation.lowercasedString }
        return ["""
                select f.ordinal, \(GenerationSQL.columns)
                from app_engine.finish_group(\(items)::jsonb) f cross join lateral (select (f.generation).*) g
                """,
                """
                select \(GenerationSQL.attemptColumns) from public.generation_attempts
                where generation_id = any(\(ids)::uuid[]) order by generation_id, number
                """,
                "select \(GenerationSQL.assetColumns) from public.assets a where a.generation_id = any(\(ids)::uuid[]) order by a.created_at, a.id"]
    }

    /// Each end's answer from `groupEnds`' results: its generation (nil when `finish_group` returned
    /// no row for it) with that generation's attempts and assets.
    static func details(of group: [PendingFinish], from results: [[PostgresRow]]) -> [Result<FinishAnswer, any Error>] {
        if allAnswered(group) {
            guard results.count == 1, let rows = results.first else { return group.map { _ in .failure(GroupCommitError.unanswered) } }
            return answered(group, ended: rows)
        }
        guard results.count == 3 else {
            return group.map { _ in .failure(GroupCommitError.unanswered) }
        }
        do {
            var rows: [Int: PostgresRow] = [:]
            for row in results[0] { rows[try row.decode("ordinal", as: Int.self)] = row }
            var attempts: [UUID: [GenerationAttempt]] = [:]
            for row in results[1] {
                attempts[try row.decode("generation_id", as: UUID.self), default: []].append(try GenerationSQL.attempt(row))
            }
            var assets: [UUID: [AssetRecord]] = [:]
            for row in results[2] {
                assets[try row.decode("generation_id", as: UUID.self), default: []].append(try GenerationSQL.asset(row))
            }
            return group.enumerated().map { index, ending in
                Result {
                    guard let row = rows[index + 1] else { return .finished(nil) }
                    return .finished(GenerationDetail(generation: try GenerationSQL.record(row), attempts: attempts[ending.generation] ?? [],
                                                      assets: assets[ending.generation] ?? []))
                }
            }
        } catch {
            return group.map { _ in .failure(error) }
        }
    }

    /// Whether `groupEnds` sends its short form: every end was answered already.
    static func allAnswered(_ group: [PendingFinish]) -> Bool {
        group.allSatisfy { $0.answered != nil }
    }

    /// Each answered end's answer from the short form of `groupEnds` (the ordinals of the ends
    /// written): the record it was answered with, whose status is the one `finish_group` writes.
    static func answered(_ group: [PendingFinish], ended rows: [PostgresRow]) -> [Result<FinishAnswer, any Error>] {
        let ended: Set<Int>
        do {
            ended = Set(try rows.map { try $0.decode("ordinal", as: Int.self) })
        } catch {
            return group.map { _ in .failure(error) }
        }
        return group.enumerated().map { index, ending in
            .success(.finished(ended.contains(index + 1) ? answeredDetail(ending) : nil))
        }
    }

    /// An answered end's answer: the record the client was told, without attempts or assets.
    static func answeredDetail(_ ending: PendingFinish) -> GenerationDetail? {
        ending.answered.map { GenerationDetail(generation: $0, attempts: [], assets: []) }
    }
}
