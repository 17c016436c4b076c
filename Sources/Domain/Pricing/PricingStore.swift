/// Where pricing versions are kept. Versions are immutable once stored.
public protocol PricingStore: Sendable {
    func currentVersion() throws -> PricingVersion?
    /// Stores `version` and makes it current. Returns false, changing nothing, when a version with
    /// the same prices (fingerprint) is already stored.
    func importVersion(_ version: PricingVersion) throws -> Bool
}
