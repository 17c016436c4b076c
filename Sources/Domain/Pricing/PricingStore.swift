/// Where pricing versions are kept. Versions are immutable once stored.
public protocol PricingStore: Sendable {
    func currentVersion() throws -> PricingVersion?
    /// A stored version by id, current or not (costs are re-computed against the version they
    /// were priced with); nil when no version has that id.
    func version(id: String) throws -> PricingVersion?
    /// Stores `version` and makes it current. Returns false, changing nothing, when a version with
    /// the same prices (fingerprint) is already stored.
    func importVersion(_ version: PricingVersion) throws -> Bool
}

extension PricingStore {
    /// For stores that keep only the current version.
    public func version(id: String) throws -> PricingVersion? {
        let current = try currentVersion()
        return current?.id == id ? current : nil
    }
}
