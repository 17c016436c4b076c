import Domain
import Foundation

/// `apiserver pricing import [--replace] FILE`: reads our catalog format or LiteLLM's
/// `model_prices_and_context_window.json`, stores it as a new current version, and says what
/// changed. A LiteLLM file updates the models it names and keeps every other row of the current
/// version (`PricingMerge`); with `--replace`, or for a file in our format (a whole price list by
/// definition), the file is the new version as it stands, and the report lists what it removes.
/// Stored versions are never changed: costs keep the version they were computed with.
struct PricingImport {
    let store: any PricingStore

    struct Report {
        let version: PricingVersion
        let imported: Bool
        let diff: PricingDiff?
        let replaced: Bool
        /// Per model, for a LiteLLM file.
        let models: [LiteLLMCatalog.ModelReport]
        let skippedEntries: [LiteLLMCatalog.Skipped]
        let mergeNotes: [String]

        var lines: [String] {
            var lines = [imported
                ? "imported pricing version \(version.id) (\(version.models.count) models, \(version.rows.count) prices), now current"
                : "pricing version \(version.id) has the same prices as a stored version: nothing imported"]
            if !models.isEmpty {
                lines.append(replaced ? "mode: full replacement (--replace)" : "mode: update the models the file names, keep every other row")
            }
            for model in models {
                lines.append("\(model.provider) \(model.model)" + (model.imported ? "" : " (left out)")
                    + " from \(model.entries.count) \(model.entries.count == 1 ? "entry" : "entries")")
                for use in model.used {
                    lines.append("  used    \(use.key).\(use.field) → \(use.row.unit.rawValue)"
                        + (use.row.dimension.isEmpty ? "" : " [\(use.row.dimension)]")
                        + (use.row.aboveInputTokens.map { " above \($0) input tokens" } ?? "")
                        + (use.row.estimateOnly ? " (estimate only)" : "")
                        + " = \(use.price) per \(use.per)" + (use.note.map { " (\($0))" } ?? ""))
                }
                for skip in model.skipped {
                    lines.append("  skipped \(skip.key)" + (skip.field.map { ".\($0)" } ?? "") + ": \(skip.reason)")
                }
            }
            for skip in skippedEntries {
                lines.append("skipped entry \(skip.key)" + (skip.field.map { ".\($0)" } ?? "") + ": \(skip.reason)")
            }
            lines += mergeNotes.map { "kept: \($0)" }
            guard imported, let diff else { return lines }
            lines.append("against the previous version: \(diff.modelsAdded.count) models added, \(diff.modelsRemoved.count) removed, "
                + "\(diff.added.count) prices added, \(diff.removed.count) removed, \(diff.changed.count) changed")
            for change in diff.changed {
                lines.append("  changed \(change.new.key): \(change.old.price.jsonString) → \(change.new.price.jsonString) per \(change.new.per)")
            }
            for model in diff.modelsRemoved { lines.append("  removed model \(model.provider)/\(model.model)") }
            for row in diff.removed { lines.append("  removed \(row.key)") }
            return lines
        }
    }

    /// A catalog file that is absent or unreadable: `migrate` refuses to run without its catalog.
    struct CatalogUnreadable: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String {
            "the pricing catalog \(path) \(reason); set PRICING_CATALOG to the catalog file (the repository and the image ship pricing/catalog.json)"
        }
    }

    /// A file read and parsed, nothing stored yet.
    typealias Parsed = (version: PricingVersion, litellm: LiteLLMCatalog.Result?)

    /// Reads and parses FILE without storing anything, so a missing or broken catalog is refused
    /// before the database is touched.
    static func load(file: URL, today: Date = Date()) throws -> Parsed {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else {
            throw CatalogUnreadable(path: file.path, reason: "does not exist")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: file.path) else {
            throw CatalogUnreadable(path: file.path, reason: "is not a readable file")
        }
        return try parse(data, fileName: file.lastPathComponent, today: today)
    }

    func run(file: URL, replace: Bool = false, today: Date = Date()) throws -> Report {
        try importParsed(try Self.load(file: file, today: today), replace: replace)
    }

    func importParsed(_ parsed: Parsed, replace: Bool) throws -> Report {
        let previous = try store.currentVersion()
        var version = parsed.version
        var notes: [String] = []
        let isLiteLLM = parsed.litellm != nil
        if isLiteLLM, !replace, let previous {
            let merged = PricingMerge.merge(version, into: previous)
            version = merged.version
            notes = merged.notes
        }
        if isLiteLLM {
            // Two imports in one second (an update, then --replace) must not share an id: the
            // prices' fingerprint tells them apart.
            version = PricingVersion(id: "\(version.id)-\(version.fingerprint.prefix(8))", label: version.label,
                                     effectiveFrom: version.effectiveFrom, currency: version.currency, models: version.models)
        }
        let imported = try store.importVersion(version)
        return Report(version: version, imported: imported, diff: previous.map { PricingDiff(old: $0, new: version) },
                      replaced: replace || !isLiteLLM, models: parsed.litellm?.models ?? [],
                      skippedEntries: parsed.litellm?.skippedEntries ?? [], mergeNotes: notes)
    }

    /// Our format declares itself with `"format"`; anything else is read as LiteLLM's.
    static func parse(_ data: Data, fileName: String, today: Date) throws -> (version: PricingVersion, litellm: LiteLLMCatalog.Result?) {
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        if object?["format"] != nil {
            return (try PricingCatalog.load(data), nil)
        }
        let now = Timestamp.rfc3339(today)
        let day = String(now.prefix(10))
        let stamp = String(now.prefix(19)).replacingOccurrences(of: ":", with: "")
        let result = try LiteLLMCatalog.decode(data, options: .init(
            versionId: "litellm-\(stamp)", label: "LiteLLM import of \(fileName)", effectiveFrom: day))
        return (result.version, result)
    }
}
