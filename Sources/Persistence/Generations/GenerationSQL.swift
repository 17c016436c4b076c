import Domain
import Foundation

/// The columns and row mapping behind `PostgresGenerationStore`.
enum GenerationSQL {
    static let columns: SQL = """
        g.id, g.user_id, g.project_id, g.kind, g.prompt, g.parameters::text as parameters, g.requested_provider, g.requested_model,
        g.provider, g.model, g.candidates::text as candidates, g.status, g.estimate, g.actual_cost, g.provider_reported_cost,
        g.cost_lines::text as cost_lines, g.max_cost, g.pricing_version, g.error_code, g.error_message, g.output_text,
        g.provider_task::text as provider_task, g.cancel_requested, g.created_at, g.updated_at, g.started_at, g.finished_at,
        g.submitting::text as submitting, g.cost_status, g.finish_reason, g.usage->>'countedWith' as usage_counted_with
        """

    /// Whether generation `i` is a batch item canceled while its provider held work that may be
    /// billed (a submission in flight, a provider task), still awaiting what that work is charged:
    /// not charged yet and its provider-scope hold still open (migration 151). Its batch waits for it.
    static let itemAwaitingCharge: SQL = """
        (i.status = 'canceled' and i.cost_status is null and (i.submitting is not null or i.provider_task is not null)
         and exists (select from public.budget_scope_entries e
                     where e.generation_id = i.id and e.kind = 'reservation' and e.scope like 'provider:%'
                       and not exists (select from public.budget_scope_entries r
                                       where r.generation_id = e.generation_id and r.scope = e.scope
                                         and r.kind in ('release', 'charge'))))
        """

    static let attemptColumns: SQL = """
        generation_id, number, provider, model, status, error_code, error_message, http_status, retryable, created_at
        """

    static let assetColumns: SQL = """
        a.id, a.project_id, a.generation_id, a.kind, a.content_type, a.bytes, a.sha256, a.storage_key, a.created_at
        """

    /// What an admission reads back of the generation it created (`admitted`).
    static let admittedColumns: SQL = "g.id, g.user_id, g.created_at"

    /// The record of a generation `admit_reserved` (or `admit_group`) just created, from what it
    /// was sent and the row `admittedColumns` read: the rest is what the function writes, so the
    /// record equals `record` of the whole row (a test holds the two to it) without reading it.
    static func admitted(_ generation: NewGeneration, start: Bool, row: PostgresRow) throws -> GenerationRecord {
        let createdAt: Date = try row.decode("created_at")
        let first = generation.candidates.first
        return GenerationRecord(
            id: try row.decode("id"), userID: try row.decode("user_id"), projectID: generation.projectID, kind: generation.kind,
            prompt: generation.prompt, settings: generation.settings, requestedProvider: generation.requestedProvider,
            requestedModel: generation.requestedModel, provider: first?.provider, model: first?.model, candidates: generation.candidates,
            status: start ? .running : .queued, estimate: generation.estimate, actualCost: nil, providerReportedCost: nil,
            costBreakdown: nil, maxCost: generation.maxCost, pricingVersion: generation.pricingVersion, errorCode: nil,
            errorMessage: nil, outputText: nil, providerTask: nil, cancelRequested: false, createdAt: createdAt,
            updatedAt: createdAt, startedAt: start ? createdAt : nil, finishedAt: nil,
            submitting: start ? first.map { InFlightSubmission(provider: $0.provider, model: $0.model) } : nil)
    }

    static func record(_ row: PostgresRow) throws -> GenerationRecord {
        func money(_ column: String) throws -> Money? {
            try row.decodeIfPresent(column, as: Decimal.self).map(Money.init(roundingToMaximumScale:))
        }
        let id: UUID = try row.decode("id")
        let status: GenerationStatus = try enumValue(row, "status")
        let parametersText: String = try row.decode("parameters")
        let candidatesText: String = try row.decode("candidates")
        let (settings, candidates) = try GenerationColumnsMemo.shared.columns(
            of: id, parametersText: parametersText, candidatesText: candidatesText, ended: status.isTerminal
        ) {
            (try GenerationJSON.settings(from: parametersText), try GenerationJSON.candidates(from: candidatesText))
        }
        return GenerationRecord(
            id: id, userID: try row.decode("user_id"), projectID: try row.decode("project_id"),
            kind: try enumValue(row, "kind"), prompt: try row.decode("prompt"),
            settings: settings,
            requestedProvider: try row.decodeIfPresent("requested_provider", as: String.self).flatMap(ProviderID.init(rawValue:)),
            requestedModel: try row.decodeIfPresent("requested_model"),
            provider: try row.decodeIfPresent("provider", as: String.self).flatMap(ProviderID.init(rawValue:)),
            model: try row.decodeIfPresent("model"),
            candidates: candidates,
            status: status, estimate: try money("estimate"), actualCost: try money("actual_cost"),
            providerReportedCost: try money("provider_reported_cost"),
            costBreakdown: try row.decodeIfPresent("cost_lines", as: String.self).map(GenerationJSON.costBreakdown(from:)),
            maxCost: try money("max_cost"), pricingVersion: try row.decode("pricing_version"),
            errorCode: try row.decodeIfPresent("error_code"), errorMessage: try row.decodeIfPresent("error_message"),
            outputText: try row.decodeIfPresent("output_text"),
            providerTask: try row.decodeIfPresent("provider_task", as: String.self).map { try GenerationJSON.decode(ProviderTask.self, $0) },
            cancelRequested: try row.decode("cancel_requested"), createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"), startedAt: try row.decodeIfPresent("started_at"),
            finishedAt: try row.decodeIfPresent("finished_at"),
            submitting: try row.decodeIfPresent("submitting", as: String.self).map(GenerationJSON.submission(from:)),
            costStatus: try row.decodeIfPresent("cost_status"), finishReason: try row.decodeIfPresent("finish_reason"),
            usageCountedWith: try row.decodeIfPresent("usage_counted_with"))
    }

    static func attempt(_ row: PostgresRow) throws -> GenerationAttempt {
        GenerationAttempt(number: try row.decode("number"), provider: try row.decode("provider"), model: try row.decode("model"),
                          succeeded: try row.decode("status", as: String.self) == "succeeded",
                          errorCode: try row.decodeIfPresent("error_code"), errorMessage: try row.decodeIfPresent("error_message"),
                          httpStatus: try row.decodeIfPresent("http_status"), retryable: try row.decodeIfPresent("retryable"),
                          createdAt: try row.decode("created_at"))
    }

    static func asset(_ row: PostgresRow) throws -> AssetRecord {
        AssetRecord(id: try row.decode("id"), projectID: try row.decode("project_id"), generationID: try row.decodeIfPresent("generation_id"),
                    kind: try enumValue(row, "kind"), contentType: try row.decode("content_type"), bytes: try row.decode("bytes"),
                    sha256: try row.decode("sha256"), storageKey: try row.decode("storage_key"), createdAt: try row.decode("created_at"))
    }

    private static func enumValue<T: RawRepresentable>(_ row: PostgresRow, _ column: String) throws -> T where T.RawValue == String {
        let text = try row.decode(column, as: String.self)
        guard let value = T(rawValue: text) else {
            throw DatabaseError(step: .statement, sqlState: nil, serverMessage: "unexpected \(column) \(text)")
        }
        return value
    }
}

/// JSON for the jsonb columns: the engine's own types, with a fixed encoding.
enum GenerationJSON {
    /// A completion's usage as stored: the usage, and `countedWith` when it was counted here
    /// rather than reported by the provider (read back as `usage_counted_with`).
    static func usage(of completion: GenerationCompletion) throws -> String? {
        try completion.usage.map { usage in
            try (try? GenerationColumnsEncoding.usage(usage, countedWith: completion.usageCountedWith))
                ?? GenerationColumnsFoundation.usage(usage, countedWith: completion.usageCountedWith)
        }
    }

    // The columns every generation writes and reads, by the direct writers and readers
    // (`GenerationColumnsEncoding`/`Decoding`); what they leave out goes to Foundation's coders.

    static func settings(_ settings: GenerationSettings) throws -> String {
        try (try? GenerationColumnsEncoding.settings(settings)) ?? text(settings)
    }

    static func candidates(_ candidates: [GenerationCandidate]) -> String {
        GenerationColumnsEncoding.candidates(candidates)
    }

    static func costBreakdown(_ breakdown: CostBreakdown) throws -> String {
        try (try? GenerationColumnsEncoding.costBreakdown(breakdown)) ?? text(breakdown)
    }

    /// A completion's assets, as the finishing functions take them.
    static func assets(_ assets: [NewAsset]) -> String {
        GenerationColumnsEncoding.stringMaps(assets.map {
            ["kind": $0.kind.rawValue, "content_type": $0.contentType, "bytes": String($0.blob.bytes), "sha256": $0.blob.sha256,
             "storage_key": $0.blob.key]
        })
    }

    static func settings(from text: String) throws -> GenerationSettings {
        try GenerationColumnsDecoding.settings(text) ?? decode(GenerationSettings.self, text)
    }

    static func candidates(from text: String) throws -> [GenerationCandidate] {
        try GenerationColumnsDecoding.candidates(text) ?? decode([GenerationCandidate].self, text)
    }

    static func submission(from text: String) throws -> InFlightSubmission {
        try GenerationColumnsDecoding.submission(text) ?? decode(InFlightSubmission.self, text)
    }

    static func costBreakdown(from text: String) throws -> CostBreakdown {
        try GenerationColumnsDecoding.costBreakdown(text) ?? decode(CostBreakdown.self, text)
    }

    static func text<T: Encodable>(_ value: T) throws -> String {
        try GenerationColumnsFoundation.text(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try GenerationColumnsFoundation.decode(type, text)
    }

    /// The `changes` argument of `app_engine.advance`: only the keys that are set.
    static func changes(_ changes: GenerationChanges) throws -> String {
        var object: [String: JSONFragment] = [:]
        if let provider = changes.provider { object["provider"] = .string(provider.rawValue) }
        if let model = changes.model { object["model"] = .string(model) }
        if let task = changes.providerTask {
            object["provider_task"] = .raw(try text(task))
            object["provider_task_id"] = .string(task.id)
        }
        if let code = changes.errorCode { object["error_code"] = .string(code) }
        if let message = changes.errorMessage { object["error_message"] = .string(String(message.prefix(2000))) }
        if let output = changes.outputText { object["output_text"] = .string(output) }
        if let cost = changes.actualCost { object["actual_cost"] = .string(cost.jsonString) }
        if let cost = changes.providerReportedCost { object["provider_reported_cost"] = .string(cost.jsonString) }
        if let breakdown = changes.costBreakdown { object["cost_lines"] = .raw(try text(breakdown)) }
        if let usage = changes.usage { object["usage"] = .raw(try text(usage)) }
        if let owner = changes.leaseOwner { object["lease_owner"] = .string(owner) }
        if let seconds = changes.leaseSeconds { object["lease_seconds"] = .string(String(seconds)) }
        if let cancel = changes.cancelRequested { object["cancel_requested"] = .string(cancel ? "true" : "false") }
        if let submitting = changes.submitting { object["submitting"] = .raw(try submitting.map { try text($0) } ?? "null") }
        if let status = changes.costStatus { object["cost_status"] = .string(status) }
        let members = try object.sorted { $0.key < $1.key }.map { key, value -> String in
            switch value {
            case .string(let string): return try text(key) + ":" + text(string)
            case .raw(let json): return try text(key) + ":" + json
            }
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    private enum JSONFragment {
        case string(String)
        case raw(String)
    }
}
