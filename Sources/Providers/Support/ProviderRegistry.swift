import Domain
import Foundation

/// Every provider adapter, built once by the composition root and shared by the router, the
/// worker and the thin endpoints (`GET /v1/providers` is `catalog()`, the key test is
/// `provider(id)?.validateKey(key)`).
public struct ProviderRegistry: Sendable {
    private let byID: [ProviderID: any MediaProvider]

    public init(_ providers: [any MediaProvider]) {
        var byID: [ProviderID: any MediaProvider] = [:]
        for provider in providers { byID[provider.id] = provider }
        self.byID = byID
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
        ])
    }

    public func provider(_ id: ProviderID) -> (any MediaProvider)? { byID[id] }

    /// Capabilities of every registered provider, in `ProviderID` order.
    public func catalog() -> [ProviderCapabilities] {
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
