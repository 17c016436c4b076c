import Foundation

/// The provider-configuration use cases: every provider of the catalog has a configuration (its
/// defaults until the user stores one), bodies are checked against the catalog, and writes honour
/// `If-Match` (the defaults' tag is `"v0"`, which only a first write satisfies).
public struct ProviderConfigService: Sendable {
    let store: any ProviderConfigStore
    let catalog: @Sendable () -> [ProviderCapabilities]
    /// This month's spent and reserved per provider scope, from the ledger's summary rows.
    let usage: @Sendable (AuthenticatedIdentity) throws -> [ProviderID: ScopeFigures]

    public init(store: any ProviderConfigStore, catalog: @escaping @Sendable () -> [ProviderCapabilities],
                usage: @escaping @Sendable (AuthenticatedIdentity) throws -> [ProviderID: ScopeFigures] = { _ in [:] }) {
        self.store = store
        self.catalog = catalog
        self.usage = usage
    }

    /// One per catalog provider, in catalog order.
    public func list(as identity: AuthenticatedIdentity) throws -> [ProviderConfig] {
        let stored = Dictionary(try store.configs(as: identity).map { ($0.provider, $0) }) { first, _ in first }
        return catalog().map { stored[$0.provider] ?? .defaults(for: $0.provider) }
    }

    public func get(provider rawProvider: String, as identity: AuthenticatedIdentity) throws -> ProviderConfig {
        let provider = try capabilities(rawProvider).provider
        return try store.configs(as: identity).first { $0.provider == provider } ?? .defaults(for: provider)
    }

    /// This month's spend on each provider scope (absent: nothing spent or reserved yet).
    public func monthlyUsage(as identity: AuthenticatedIdentity) throws -> [ProviderID: ScopeFigures] {
        try usage(identity)
    }

    public func put(provider rawProvider: String, _ body: WireJSONObject, ifMatch: IfMatch?,
                    as identity: AuthenticatedIdentity) throws -> ProviderConfig {
        let capabilities = try capabilities(rawProvider)
        let settings = try ProviderConfigRules.settings(body, for: capabilities)
        var expectedVersion: Int64?
        if let ifMatch, ifMatch != .any {
            let current = try get(provider: rawProvider, as: identity)
            guard ifMatch.isSatisfied(by: current.etag) else { throw DomainError.preconditionFailed }
            expectedVersion = current.version
        }
        guard let stored = try store.put(capabilities.provider, settings, expectedVersion: expectedVersion, as: identity) else {
            throw DomainError.preconditionFailed
        }
        return stored
    }

    private func capabilities(_ rawProvider: String) throws -> ProviderCapabilities {
        guard let provider = ProviderID(rawValue: rawProvider), let found = catalog().first(where: { $0.provider == provider }) else {
            throw DomainError.notFound(resource: "provider")
        }
        return found
    }
}
