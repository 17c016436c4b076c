import Domain
import Foundation

/// `PricingStore` on `pricing.versions`. Reading is something every user may do, so it runs as
/// `authenticated` (the table is the same for all: no user's claims are needed); importing is
/// maintenance, so it runs as service_role.
public struct PostgresPricingStore: PricingStore {
    let pool: ConnectionPool
    /// Shared by copies of this store: versions are immutable, so each is decoded once.
    let decoded = PricingVersionCache()

    public init(pool: ConnectionPool) {
        self.pool = pool
    }

    /// Which version is current is asked every time (an import changes it); its document is only
    /// read and decoded when that version is not decoded yet.
    public func currentVersion() throws -> PricingVersion? {
        let rows = try pool.sharedReadStatement("select id from pricing.versions where is_current")
        guard let id = try rows.first?.decode("id", as: String.self) else { return nil }
        return try version(id: id)
    }

    public func version(id: String) throws -> PricingVersion? {
        if let known = decoded.version(id) { return known }
        guard let version = try load(id: id) else { return nil }
        decoded.remember(version)
        return version
    }

    private func load(id: String) throws -> PricingVersion? {
        let rows = try pool.sharedReadStatement("select document::text as document from pricing.versions where id = \(id)")
        guard let text = try rows.first?.decode("document", as: String.self) else { return nil }
        do {
            return try PricingCatalog.load(Data(text.utf8))
        } catch {
            throw DatabaseError(step: .statement, sqlState: nil, serverMessage: "stored pricing version \(id) does not load: \(error)")
        }
    }

    public func importVersion(_ version: PricingVersion) throws -> Bool {
        let document = String(decoding: PricingCatalog.encode(version), as: UTF8.self)
        return try pool.withServiceRole { transaction -> Bool in
            // Serialises imports, so "one current version" holds even for two at once.
            try transaction.query("lock table pricing.versions in share row exclusive mode")
            if try !transaction.query("select 1 from pricing.versions where fingerprint = \(version.fingerprint)").isEmpty {
                return false
            }
            if try !transaction.query("select 1 from pricing.versions where id = \(version.id)").isEmpty {
                throw DomainError.conflict(code: "pricing_version_exists",
                                           detail: "A different pricing version with id \(version.id) is already stored; give the new one its own id.")
            }
            try transaction.query("update pricing.versions set is_current = false where is_current")
            try transaction.query("""
                insert into pricing.versions (id, label, fingerprint, currency, effective_from, document, is_current)
                values (\(version.id), \(version.label), \(version.fingerprint), \(version.currency), \(version.effectiveFrom),
                        \(document)::jsonb, true)
                """)
            return true
        }
    }
}
