import Domain
import Foundation
import Synchronization

/// Every provider adapter, built once by the composition root and shared by the router, the
/// worker and the thin endpoints (`GET /v1/providers` is `catalog()`, the key test is
/// `provider(id)?.validateKey(key)`).
public struct ProviderRegistry: Sendable {
    private let byID: [ProviderID: any MediaProvider]
    /// What the adapters' capabilities are built from that may change (the price list's
    /// fingerprint); with it, `catalog()` is built once per value instead of on every call.
    private let catalogKey: (@Sendable () -> String)?
    private let memo = CatalogMemo()
    private let unlisted = UnlistedModelMemo()

    public init(_ providers: [any MediaProvider], catalogKey: (@Sendable () -> String)? = nil) {
        var byID: [ProviderID: any MediaProvider] = [:]
        for provider in providers { byID[provider.id] = provider }
        self.byID = byID
        self.catalogKey = catalogKey
    }

    /// All real providers at `endpoints`, plus the local one.
    public static func standard(endpoints: ProviderEndpoints, context: AdapterContext,
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> ProviderRegistry {
        ProviderRegistry([
            OpenAIProvider(baseURL: endpoints.openAI, context: context),
            AnthropicProvider(baseURL: endpoints.anthropic, context: context),
            OpenRouterProvider(baseURL: endpoints.openRouter, context: context),
            ElevenLabsProvider(baseURL: endpoints.elevenLabs, context: context),
            RunwayProvider(baseURL: endpoints.runway, context: context),
            VeoProvider(baseURL: endpoints.gemini, context: context),
            FALProvider(queueURL: endpoints.falQueue, apiURL: endpoints.falAPI, context: context),
            LocalProvider(environment: environment, logger: context.logger),
        ], catalogKey: { context.priceList()?.fingerprint ?? "" })
    }

    public func provider(_ id: ProviderID) -> (any MediaProvider)? { byID[id] }

    /// `provider(id)?.capability(for: model, kind: kind)`, remembered per price list (the catalog's
    /// key) for the models requests name: every quote and every routing asks each provider about the
    /// request's model (a thirtieth of a chat completion's instructions in the server).
    public func capability(of id: ProviderID, for model: String, kind: MediaKind) -> ModelCapability? {
        guard let catalogKey else { return provider(id)?.capability(for: model, kind: kind) }
        let key = UnlistedModelKey(provider: id, model: model, kind: kind)
        let version = catalogKey()
        if let known = unlisted.answer(for: key, version: version) { return known }
        let answer = provider(id)?.capability(for: model, kind: kind)
        unlisted.remember(answer, for: key, version: version)
        return answer
    }

    /// Capabilities of every registered provider, in `ProviderID` order.
    public func catalog() -> [ProviderCapabilities] {
        guard let catalogKey else { return buildCatalog() }
        let key = catalogKey()
        if let known = memo.catalog(for: key) { return known }
        let built = buildCatalog()
        memo.remember(built, for: key)
        return built
    }

    private func buildCatalog() -> [ProviderCapabilities] {
        ProviderID.allCases.compactMap { byID[$0]?.capabilities() }
    }

    /// Providers that offer `kind` with `model`, in `ProviderID` order (the router applies the
    /// user's priorities on top).
    public func providers(offering kind: MediaKind, model: String? = nil) -> [any MediaProvider] {
        ProviderID.allCases.compactMap { byID[$0] }.filter { provider in
            model.map { provider.capability(for: $0, kind: kind) != nil } ?? provider.capabilities().supports(kind)
        }
    }
}

/// The last catalog built and the key it was built for. Building it turns every priced model into
/// capabilities, which took a seventh of a chat generation's CPU when done on every call.
final class CatalogMemo: Sendable {
    private let last = Mutex<(key: String, catalog: [ProviderCapabilities])?>(nil)

    func catalog(for key: String) -> [ProviderCapabilities]? {
        last.withLock { $0?.key == key ? $0?.catalog : nil }
    }

    func remember(_ catalog: [ProviderCapabilities], for key: String) {
        last.withLock { $0 = (key, catalog) }
    }
}

struct UnlistedModelKey: Hashable, Sendable {
    let provider: ProviderID
    let model: String
    let kind: MediaKind
}

/// Providers' answers about models, for one price list. Models come from requests, so the table is
/// bounded: full, it starts again empty (the answers are cheap to find again, only not per request).
final class UnlistedModelMemo: Sendable {
    static let limit = 1_024
    private let state = Mutex<(version: String, answers: [UnlistedModelKey: ModelCapability?])>(("", [:]))

    /// The remembered answer (itself nil when the provider does not serve the model), or nil when none is.
    func answer(for key: UnlistedModelKey, version: String) -> ModelCapability?? {
        state.withLock { $0.version == version ? $0.answers[key] : nil }
    }

    func remember(_ answer: ModelCapability?, for key: UnlistedModelKey, version: String) {
        state.withLock { state in
            if state.version != version || state.answers.count >= Self.limit { state = (version, [:]) }
            state.answers[key] = .some(answer)
        }
    }
}
