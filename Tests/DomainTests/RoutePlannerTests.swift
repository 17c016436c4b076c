import Domain
import Foundation
import XCTest

/// The route planner: order, pinning, and every skip reason, each alone and together.
final class RoutePlannerTests: XCTestCase {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    private let catalog: [ProviderCapabilities] = [
        ProviderCapabilities(provider: .openai, models: [
            ModelCapability(id: "gpt-small", kind: .text, parameters: [ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: 100))]),
            ModelCapability(id: "gpt-big", kind: .text, parameters: [ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: 1000)),
                                                                     ParameterSpec(.temperature, .decimalRange(min: 0, max: 2))]),
            ModelCapability(id: "img", kind: .image, parameters: [ParameterSpec(.size, .oneOf(["1024x1024"]))]),
        ]),
        ProviderCapabilities(provider: .anthropic, models: [
            ModelCapability(id: "claude", kind: .text, parameters: [ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: 500))]),
        ]),
        ProviderCapabilities(provider: .elevenlabs, models: [
            ModelCapability(id: "voice", kind: .audio, parameters: [ParameterSpec(.voice, .text(maxLength: 40))]),
        ]),
        ProviderCapabilities(provider: .local, requiresKey: false, isOffline: true, models: [
            ModelCapability(id: "local-text", kind: .text, parameters: [ParameterSpec(.maxOutputTokens, .integerRange(min: 1, max: 50))]),
        ]),
    ]

    private func state(keys: Set<ProviderID> = [.openai, .anthropic, .elevenlabs], configs: [ProviderConfig] = [],
                       health: [ProviderID: ProviderHealthState] = [:], buckets: [ProviderID: TokenBucket] = [:],
                       remaining: [ProviderID: Money] = [:]) -> RoutingState {
        RoutingState(catalog: catalog, configs: Dictionary(uniqueKeysWithValues: configs.map { ($0.provider, $0) }), health: health,
                     usableKeys: keys, buckets: buckets, providerBudgetRemaining: remaining, now: now)
    }

    private func text(_ parameters: GenerationParameters = GenerationParameters(), provider: ProviderID? = nil, model: String? = nil,
                      maxCost: Money? = nil, estimate: @escaping @Sendable (ProviderID, String) -> Money? = { _, _ in nil }) -> RouteRequest {
        RouteRequest(kind: .text, prompt: "hello", parameters: parameters, provider: provider, model: model, maxCost: maxCost, estimate: estimate)
    }

    private func codes(_ plan: RoutePlan) -> [String] {
        plan.options.map { "\($0.provider.rawValue)/\($0.model ?? "-"): \($0.skipReasons.map(\.code).joined(separator: ","))" }
    }

    func testWithDefaultsEveryProviderOfTheKindIsACandidateInCatalogOrder() {
        let plan = RoutePlanner.plan(text(), state())
        XCTAssertEqual(plan.candidates.map(\.provider), [.openai, .anthropic, .local])
        XCTAssertEqual(plan.candidates.map(\.model), ["gpt-small", "claude", "local-text"])
        XCTAssertEqual(codes(plan), ["openai/gpt-small: ", "anthropic/claude: ", "elevenlabs/-: unsupported_kind", "local/local-text: "])
    }

    func testPriorityOrdersCandidatesAndTiesKeepCatalogOrder() {
        let plan = RoutePlanner.plan(text(), state(configs: [ProviderConfig(provider: .local, priority: 1),
                                                             ProviderConfig(provider: .anthropic, priority: 50)]))
        XCTAssertEqual(plan.candidates.map(\.provider), [.local, .anthropic, .openai])
        XCTAssertEqual(plan.candidates.map(\.priority), [1, 50, 100])
    }

    func testADisabledProviderIsSkipped() {
        let plan = RoutePlanner.plan(text(), state(configs: [ProviderConfig(provider: .openai, enabled: false)]))
        XCTAssertEqual(plan.skipped.first { $0.provider == .openai }?.skipReasons, [.disabled])
        XCTAssertEqual(plan.candidates.map(\.provider), [.anthropic, .local])
    }

    func testNoKeyIsSkippedButTheOfflineProviderNeedsNone() {
        let plan = RoutePlanner.plan(text(), state(keys: []))
        XCTAssertEqual(plan.candidates.map(\.provider), [.local])
        XCTAssertEqual(plan.skipped.filter { $0.skipReasons == [.noApiKey] }.map(\.provider), [.openai, .anthropic])
    }

    func testParametersAreNeverDowngradedToFit() {
        // 800 tokens: only gpt-big accepts it; the others are skipped, never sent a reduced request.
        let plan = RoutePlanner.plan(text(GenerationParameters(maxOutputTokens: 800)), state())
        XCTAssertEqual(plan.candidates.map(\.provider), [.openai])
        XCTAssertEqual(plan.candidates.map(\.model), ["gpt-big"], "a model of the same provider that accepts the request as sent")
        let anthropic = plan.skipped.first { $0.provider == .anthropic }
        guard case .unsupportedParameters(let problems)? = anthropic?.skipReasons.first else { return XCTFail("\(codes(plan))") }
        XCTAssertEqual(problems.map(\.field), ["max_output_tokens"])
        XCTAssertEqual(plan.skipped.first { $0.provider == .local }?.skipReasons.map(\.code), ["unsupported_parameters"])
    }

    func testAConfiguredDefaultModelIsUsedAsIsOrNotAtAll() {
        let configured = state(configs: [ProviderConfig(provider: .openai, defaultModels: [.text: "gpt-small"])])
        let plan = RoutePlanner.plan(text(GenerationParameters(temperature: 1)), configured)
        XCTAssertEqual(plan.options.first { $0.provider == .openai }?.skipReasons.map(\.code), ["unsupported_parameters"],
                       "the user's default does not take temperature; gpt-big is not silently chosen instead")
        let stale = state(configs: [ProviderConfig(provider: .openai, defaultModels: [.text: "gone"])])
        XCTAssertEqual(RoutePlanner.plan(text(), stale).options.first?.skipReasons, [.unknownModel("gone")])
    }

    func testAPinnedProviderIsTheOnlyOptionWithItsReasons() {
        let plan = RoutePlanner.plan(text(provider: .anthropic), state(configs: [ProviderConfig(provider: .anthropic, enabled: false)]))
        XCTAssertEqual(plan.options.map(\.provider), [.anthropic])
        XCTAssertEqual(plan.options.first?.skipReasons, [.disabled])
        XCTAssertEqual(plan.candidates, [])
    }

    func testAPinnedModelIsLookedUpAtEveryProviderAndUsedExactly() {
        let plan = RoutePlanner.plan(text(model: "gpt-big"), state())
        XCTAssertEqual(plan.candidates.map(\.provider), [.openai])
        XCTAssertEqual(plan.candidates.map(\.model), ["gpt-big"])
        XCTAssertEqual(plan.skipped.map(\.skipReasons), [[.unknownModel("gpt-big")], [.unsupportedKind], [.unknownModel("gpt-big")]])
        let pinnedBoth = RoutePlanner.plan(text(provider: .openai, model: "gpt-small"), state())
        XCTAssertEqual(pinnedBoth.candidates.map(\.model), ["gpt-small"])
    }

    func testAnOpenCircuitIsSkippedUntilItHalfOpens() {
        let open = ProviderHealthState(consecutiveFailures: 5, reopenAt: now.addingTimeInterval(10))
        XCTAssertEqual(RoutePlanner.plan(text(), state(health: [.openai: open])).options.first?.skipReasons,
                       [.circuitOpen(until: now.addingTimeInterval(10))])
        let halfOpen = ProviderHealthState(consecutiveFailures: 5, reopenAt: now)
        let trial = RoutePlanner.plan(text(), state(health: [.openai: halfOpen])).candidates.first
        XCTAssertEqual(trial?.provider, .openai, "a half-open circuit admits the trial")
        XCTAssertEqual(trial?.circuit, .halfOpen, "the engine claims the trial before attempting")
    }

    func testAnEmptyBucketOrAProviderBlockIsRateLimited() {
        let configs = [ProviderConfig(provider: .openai, requestsPerMinute: 6)]
        let empty = TokenBucket(tokens: 0, updatedAt: now)
        XCTAssertEqual(RoutePlanner.plan(text(), state(configs: configs, buckets: [.openai: empty])).options.first?.skipReasons,
                       [.rateLimited(until: now.addingTimeInterval(10))])
        let blocked = TokenBucket(tokens: 0, updatedAt: now, blockedUntil: now.addingTimeInterval(30))
        XCTAssertEqual(RoutePlanner.plan(text(), state(buckets: [.anthropic: blocked])).options.map(\.skipReasons),
                       [[], [.rateLimited(until: now.addingTimeInterval(30))], [.unsupportedKind], []])
        let fresh = RoutePlanner.plan(text(), state(configs: configs)).candidates.first
        XCTAssertEqual(fresh?.provider, .openai, "a bucket never used is full")
        XCTAssertEqual(fresh?.requestsPerMinute, 6, "the rate the engine acquires with")
    }

    func testTheProviderBudgetAndMaxCostSkipWhatTheEstimateExceeds() throws {
        let cost = try Money(parsing: "0.50")
        let request = text(maxCost: try Money(parsing: "0.40")) { provider, _ in provider == .local ? .zero : cost }
        let plan = RoutePlanner.plan(request, state(remaining: [.anthropic: try Money(parsing: "0.49"), .openai: try Money(parsing: "5")]))
        XCTAssertEqual(plan.options.map(\.skipReasons), [
            [.overMaxCost(maxCost: try Money(parsing: "0.40"), estimate: cost)],
            [.overProviderBudget(remaining: try Money(parsing: "0.49"), estimate: cost), .overMaxCost(maxCost: try Money(parsing: "0.40"), estimate: cost)],
            [.unsupportedKind],
            [],
        ])
        XCTAssertEqual(plan.candidates.map(\.estimate), [.zero])
        // Exactly the remaining budget fits (spent + reserved + estimate ≤ limit); an exhausted one with no estimate does too.
        let exact = RoutePlanner.plan(text { provider, _ in provider == .anthropic ? nil : cost }, state(remaining: [.openai: cost, .anthropic: .zero]))
        XCTAssertEqual(exact.candidates.map(\.provider), [.openai, .anthropic, .local])
        // A configured budget with no ledger figures yet is all remaining.
        let unused = RoutePlanner.plan(text { _, _ in cost }, state(configs: [ProviderConfig(provider: .openai, monthlyBudget: try Money(parsing: "0.25"))]))
        XCTAssertEqual(unused.options.first?.skipReasons, [.overProviderBudget(remaining: try Money(parsing: "0.25"), estimate: cost)])
    }

    func testEveryReasonIsReportedAtOnce() {
        let plan = RoutePlanner.plan(text(GenerationParameters(seed: 1), provider: .openai),
                                     state(keys: [], configs: [ProviderConfig(provider: .openai, enabled: false, requestsPerMinute: 1)],
                                           health: [.openai: ProviderHealthState(reopenAt: now.addingTimeInterval(1))],
                                           buckets: [.openai: TokenBucket(tokens: 0, updatedAt: now)], remaining: [.openai: Money(roundingToMaximumScale: -1)]))
        XCTAssertEqual(plan.options.first?.skipReasons.map(\.code),
                       ["disabled", "no_api_key", "unsupported_parameters", "circuit_open", "rate_limited", "over_provider_budget"])
    }

    func testTheSkipReasonCodesAreStable() {
        let reasons: [SkipReason] = [.disabled, .noApiKey, .unsupportedKind, .unknownModel("m"), .unsupportedParameters([]),
                                     .circuitOpen(until: now), .rateLimited(until: now), .overProviderBudget(remaining: .zero, estimate: .zero),
                                     .overMaxCost(maxCost: .zero, estimate: .zero), .unpriced]
        XCTAssertEqual(reasons.map(\.code), ["disabled", "no_api_key", "unsupported_kind", "unknown_model", "unsupported_parameters",
                                             "circuit_open", "rate_limited", "over_provider_budget", "over_max_cost", "unpriced"])
    }

    func testAnUnpricedModelIsSkippedOnlyWhenAPriceIsRequired() {
        let priced: @Sendable (ProviderID, String) -> Money? = { provider, _ in provider == .anthropic ? nil : .zero }
        let strict = RoutePlanner.plan(RouteRequest(kind: .text, prompt: "p", requirePrice: true, estimate: priced), state())
        XCTAssertEqual(strict.options.map { $0.skipReasons.map(\.code) }, [[], ["unpriced"], ["unsupported_kind"], []])
        let lenient = RoutePlanner.plan(RouteRequest(kind: .text, prompt: "p", estimate: priced), state())
        XCTAssertEqual(lenient.candidates.map(\.provider), [.openai, .anthropic, .local], "opted into unpriced spend")
    }
}
