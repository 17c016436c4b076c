import Domain
import Foundation

/// `apiserver pricing import FILE`: reads our catalog format or LiteLLM's
/// `model_prices_and_context_window.json`, stores it as a new current version, and says what changed.
struct PricingImport {
    let store: any PricingStore

    struct Report {
        let version: PricingVersion
        let imported: Bool
        let diff: PricingDiff?
        let skipped: Int

        var lines: [String] {
            var lines = [imported
                ? "imported pricing version \(version.id) (\(version.models.count) models, \(version.rows.count) prices), now current"
                : "pricing version \(version.id) has the same prices as a stored version: nothing imported"]
            if skipped > 0 { lines.append("skipped \(skipped) LiteLLM entries or prices this server does not use") }
            guard imported, let diff else { return lines }
            lines.append("against the previous version: \(diff.modelsAdded.count) models added, \(diff.modelsRemoved.count) removed, "
                + "\(diff.added.count) prices added, \(diff.removed.count) removed, \(diff.changed.count) changed")
            for change in diff.changed.prefix(50) {
                lines.append("  \(change.new.provider) \(change.new.model) \(change.new.unit.rawValue): "
                    + "\(change.old.price.jsonString) → \(change.new.price.jsonString) per \(change.new.per)")
            }
            if diff.changed.count > 50 { lines.append("  … and \(diff.changed.count - 50) more changes") }
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

    /// Reads and parses FILE without storing anything, so a missing or broken catalog is refused
    /// before the database is touched.
    static func load(file: URL, today: Date = Date()) throws -> (version: PricingVersion, skipped: Int) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else {
            throw CatalogUnreadable(path: file.path, reason: "does not exist")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: file.path) else {
            throw CatalogUnreadable(path: file.path, reason: "is not a readable file")
        }
        return try parse(data, fileName: file.lastPathComponent, today: today)
    }

    func run(file: URL, today: Date = Date()) throws -> Report {
        let (version, skipped) = try Self.load(file: file, today: today)
        return try importVersion(version, skipped: skipped)
    }

    func importVersion(_ version: PricingVersion, skipped: Int) throws -> Report {
        let previous = try store.currentVersion()
        let imported = try store.importVersion(version)
        return Report(version: version, imported: imported, diff: previous.map { PricingDiff(old: $0, new: version) }, skipped: skipped)
    }

    /// Our format declares itself with `"format"`; anything else is read as LiteLLM's.
    static func parse(_ data: Data, fileName: String, today: Date) throws -> (PricingVersion, Int) {
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        if object?["format"] != nil {
            return (try PricingCatalog.load(data), 0)
        }
        let now = Timestamp.rfc3339(today)
        let day = String(now.prefix(10))
        let stamp = String(now.prefix(19)).replacingOccurrences(of: ":", with: "")
        let result = try LiteLLMCatalog.decode(data, options: .init(
            versionId: "litellm-\(stamp)", label: "LiteLLM import of \(fileName)", effectiveFrom: day))
        return (result.version, result.skipped.count)
    }
}
