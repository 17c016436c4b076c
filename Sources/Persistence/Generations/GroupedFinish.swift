import Domain
import Foundation

/// One end's statements (`app_engine.finish_generation`, which settles the reservation and locks the
/// project row, then the generation's attempts and assets) and its attempt's report.
struct PendingFinish {
    /// A group's most ends: its transaction runs three statements per end.
    static let groupLimit = 32

    let claimsJSON: String
    let statements: [SQL]
    let report: SQL?

    init(_ id: UUID, _ completion: GenerationCompletion, claimsJSON: String) throws {
        let assets = GenerationJSON.assets(completion.assets)
        let breakdown = try completion.breakdown.map(GenerationJSON.costBreakdown)
        let usage = try GenerationJSON.usage(of: completion)
        let event = GenerationColumnsEncoding.stringMap(completion.event.payload)
        self.claimsJSON = claimsJSON
        statements = ["""
            select \(GenerationSQL.columns) from app_engine.finish_generation(
                \(id), \(completion.status.rawValue), \(completion.provider.rawValue), \(completion.model), \(completion.cost?.amount)::numeric,
                \(completion.costStatus), \(completion.providerReportedCost?.amount)::numeric, \(breakdown)::jsonb, \(usage)::jsonb,
                \(completion.outputText), \(completion.errorCode), \(completion.errorMessage.map { String($0.prefix(2000)) }),
                \(assets)::jsonb, \(completion.providerScopeOnly), null::text, \(event)::jsonb, \(completion.recordsAttempt),
                \(completion.finishReason.map { String($0.prefix(64)) })) g
            """] + PostgresGenerationStore.attemptsAndAssets(of: id)
        report = completion.report.map { "select app_engine.report_attempt(\(AttemptReportSQL.value($0)))" }
    }

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
    /// A group's ends in one round trip: every end, in arrival order, in one transaction (the project
    /// row is locked once for all of them), then every report in a second one whose COMMIT does not
    /// wait for the disk, as one end's does not. When the ends' transaction fails as a whole (one of
    /// them was settled meanwhile, say) nothing of it was written and each end runs again alone, so
    /// each gets its own answer; a failed report is dropped, as one end's is.
    func runFinishes(_ group: [PendingFinish]) -> [Result<FinishAnswer, any Error>] {
        // A lone end runs here too, so the ones arriving meanwhile gather for the next group.
        if group.count == 1, let ending = group.first {
            return [Result { try finishAlone(ending) }.map { .finished($0) }]
        }
        guard let claimsJSON = group.first?.claimsJSON else { return [] }
        let reports = group.compactMap(\.report)
        let outcome: TransactionsOutcome
        do {
            outcome = try pool.userScopeTransactions(claimsJSON: claimsJSON, [group.flatMap(\.statements)]
                                                         + (reports.isEmpty ? [] : [reports + [ConnectionPool.asynchronousCommit]]))
        } catch {
            // Thrown only when nothing was written (no connection, or one ended before it ran).
            return group.map { _ in .failure(error) }
        }
        guard let ended = outcome.committed.first else { return group.map { _ in .success(.alone) } }
        // A request whose statements were not all answered: as one end's short answer is.
        return Self.slices(of: ended, counts: group.map(\.statements.count)).map { rows in
            Result { .finished(try rows.flatMap(Self.detail(from:))) }
        }
    }
}
