import Foundation

/// What is asked of the router: the request as the user sent it (never altered to fit a provider).
public struct RouteRequest: Sendable {
    public var kind: MediaKind
    public var prompt: String
    public var parameters: GenerationParameters
    /// Pinned provider: only it is considered.
    public var provider: ProviderID?
    /// Pinned model: only providers offering it for `kind` are considered, with exactly it.
    public var model: String?
    /// The request's `max_cost_usd`: no candidate whose estimate exceeds it.
    public var maxCost: Money?
    /// The estimated cost on one provider and model; nil when it cannot be estimated (unpriced).
    public var estimate: @Sendable (ProviderID, String) -> Money?
    /// Skip candidates without an estimate (`unpriced`): nothing honest could be reserved for
    /// them. False when the project opts into unpriced spend.
    public var requirePrice: Bool

    public init(kind: MediaKind, prompt: String, parameters: GenerationParameters = GenerationParameters(),
                provider: ProviderID? = nil, model: String? = nil, maxCost: Money? = nil, requirePrice: Bool = false,
                estimate: @escaping @Sendable (ProviderID, String) -> Money? = { _, _ in nil }) {
        self.requirePrice = requirePrice
        self.kind = kind
        self.prompt = prompt
        self.parameters = parameters
        self.provider = provider
        self.model = model
        self.maxCost = maxCost
        self.estimate = estimate
    }
}

/// Everything the planner reads about the user, gathered by the caller (configs, health and
/// buckets from their stores, key availability from the vault, provider-scope budget headroom
/// from the ledger). Absent entries mean: defaults, unknown health, fresh bucket, no limit.
public struct RoutingState: Sendable {
    public var catalog: [ProviderCapabilities]
    public var configs: [ProviderID: ProviderConfig]
    public var health: [ProviderID: ProviderHealthState]
    /// Providers for which the user has a usable (not invalid) key.
    public var usableKeys: Set<ProviderID>
    public var buckets: [ProviderID: TokenBucket]
    /// limit − spent − reserved of the provider's monthly budget, for providers whose budget has
    /// ledger figures (otherwise the configured budget is all remaining).
    public var providerBudgetRemaining: [ProviderID: Money]
    public var now: Date

    public init(catalog: [ProviderCapabilities], configs: [ProviderID: ProviderConfig] = [:], health: [ProviderID: ProviderHealthState] = [:],
                usableKeys: Set<ProviderID> = [], buckets: [ProviderID: TokenBucket] = [:],
                providerBudgetRemaining: [ProviderID: Money] = [:], now: Date) {
        self.catalog = catalog
        self.configs = configs
        self.health = health
        self.usableKeys = usableKeys
        self.buckets = buckets
        self.providerBudgetRemaining = providerBudgetRemaining
        self.now = now
    }
}

/// Why a provider is not a candidate. Several may hold at once; all are reported.
public enum SkipReason: Sendable, Equatable {
    case disabled
    case noApiKey
    /// The provider makes nothing of this kind.
    case unsupportedKind
    /// The pinned model (or the configured default) is not in the provider's catalog for the kind.
    case unknownModel(String)
    /// The model does not accept the request as sent; it is skipped, never sent a reduced request.
    case unsupportedParameters([FieldError])
    case circuitOpen(until: Date)
    case rateLimited(until: Date)
    case overProviderBudget(remaining: Money, estimate: Money)
    case overMaxCost(maxCost: Money, estimate: Money)
    /// No price for the model, and the request requires one.
    case unpriced

    /// Stable snake_case code for the API and events.
    public var code: String {
        switch self {
        case .disabled: "disabled"
        case .noApiKey: "no_api_key"
        case .unsupportedKind: "unsupported_kind"
        case .unknownModel: "unknown_model"
        case .unsupportedParameters: "unsupported_parameters"
        case .circuitOpen: "circuit_open"
        case .rateLimited: "rate_limited"
        case .overProviderBudget: "over_provider_budget"
        case .overMaxCost: "over_max_cost"
        case .unpriced: "unpriced"
        }
    }
}

/// One provider as the planner judged it: a candidate when `skipReasons` is empty.
public struct RouteOption: Sendable, Equatable {
    public let provider: ProviderID
    /// The model that would be used (nil when the provider has none for the kind).
    public let model: String?
    public let priority: Int
    public let estimate: Money?
    public let skipReasons: [SkipReason]
    /// The configured rate, to pass to `ProviderRouter.acquire` before the attempt.
    public let requestsPerMinute: Int?
    /// `.halfOpen`: call `ProviderRouter.claimTrial` first; only its winner may attempt.
    public let circuit: CircuitState

    public var isCandidate: Bool { skipReasons.isEmpty }
}

public struct RoutePlan: Sendable, Equatable {
    /// Every provider considered, in the order they would be tried.
    public let options: [RouteOption]

    /// Those to try, in order: the first, then the fallbacks after retryable failures.
    public var candidates: [RouteOption] { options.filter(\.isCandidate) }
    public var skipped: [RouteOption] { options.filter { !$0.isCandidate } }
}

/// Chooses the providers a generation may run on, in order. Pure: the same state and request
/// always give the same plan.
public enum RoutePlanner {
    public static func plan(_ request: RouteRequest, _ state: RoutingState) -> RoutePlan {
        let order = Dictionary(uniqueKeysWithValues: ProviderID.allCases.enumerated().map { ($1, $0) })
        let considered = state.catalog.filter { request.provider == nil || $0.provider == request.provider }
        let options = considered.map { option(for: $0, request, state) }
        return RoutePlan(options: options.sorted {
            ($0.priority, order[$0.provider] ?? Int.max) < ($1.priority, order[$1.provider] ?? Int.max)
        })
    }

    private static func option(for capabilities: ProviderCapabilities, _ request: RouteRequest, _ state: RoutingState) -> RouteOption {
        let provider = capabilities.provider
        let config = state.configs[provider] ?? .defaults(for: provider)
        var reasons: [SkipReason] = []
        if !config.enabled { reasons.append(.disabled) }
        if capabilities.requiresKey && !state.usableKeys.contains(provider) { reasons.append(.noApiKey) }

        let generation = GenerationRequest(kind: request.kind, model: "", prompt: request.prompt,
                                           parameters: request.parameters, outputDirectory: "")
        var chosen: ModelCapability?
        if !capabilities.supports(request.kind) {
            reasons.append(.unsupportedKind)
        } else if let wanted = request.model ?? config.defaultModels[request.kind] {
            // A named model (pinned, or the user's default) is used as is or not at all.
            if let model = capabilities.model(wanted, kind: request.kind) {
                chosen = model
                let problems = model.validate(generation)
                if !problems.isEmpty { reasons.append(.unsupportedParameters(problems)) }
            } else {
                reasons.append(.unknownModel(wanted))
            }
        } else {
            // The first model of the kind that accepts the request as sent; else the first, refused.
            let models = capabilities.models(for: request.kind)
            chosen = models.first { $0.validate(generation).isEmpty } ?? models.first
            if let model = chosen {
                let problems = model.validate(generation)
                if !problems.isEmpty { reasons.append(.unsupportedParameters(problems)) }
            }
        }

        let health = state.health[provider] ?? .unknown
        if !health.admitsAttempt(at: state.now), let until = health.reopenAt { reasons.append(.circuitOpen(until: until)) }
        let bucket = state.buckets[provider] ?? .fresh(requestsPerMinute: config.requestsPerMinute, at: state.now)
        let available = bucket.availableAt(state.now, requestsPerMinute: config.requestsPerMinute)
        if available > state.now { reasons.append(.rateLimited(until: available)) }

        let estimate = chosen.flatMap { request.estimate(provider, $0.id) }
        // A budget never drawn on has no ledger figures yet: all of it remains.
        if let remaining = state.providerBudgetRemaining[provider] ?? config.monthlyBudget, (estimate ?? .zero) > remaining {
            reasons.append(.overProviderBudget(remaining: remaining, estimate: estimate ?? .zero))
        }
        if let maxCost = request.maxCost, let estimate, estimate > maxCost {
            reasons.append(.overMaxCost(maxCost: maxCost, estimate: estimate))
        }
        if request.requirePrice, chosen != nil, estimate == nil { reasons.append(.unpriced) }
        return RouteOption(provider: provider, model: chosen?.id, priority: config.priority, estimate: estimate, skipReasons: reasons,
                           requestsPerMinute: config.requestsPerMinute, circuit: health.circuit(at: state.now))
    }
}
