import Domain
import Foundation
import Synchronization
import XCTest

/// The engine's façade over the routing stores, with in-memory stores.
final class ProviderRouterTests: XCTestCase {
    private final class Stores: ProviderConfigStore, ProviderHealthStore, RateLimitStore, Sendable {
        let observed = Mutex<[RateLimitObservation]>([])
        let recorded = Mutex<[AttemptOutcome]>([])
        let healthRows: [ProviderID: ProviderHealthState]
        let stored: [ProviderConfig]

        init(health: [ProviderID: ProviderHealthState] = [:], configs: [ProviderConfig] = []) {
            healthRows = health
            stored = configs
        }

        func configs(as identity: AuthenticatedIdentity) throws -> [ProviderConfig] { stored }
        func put(_ provider: ProviderID, _ settings: ProviderConfigSettings, expectedVersion: Int64?,
                 as identity: AuthenticatedIdentity) throws -> ProviderConfig? { nil }
        func record(_ outcome: AttemptOutcome, provider: ProviderID, at now: Date, claimsJSON: String) throws -> ProviderHealthState {
            recorded.withLock { $0.append(outcome) }
            return (healthRows[provider] ?? .unknown).recording(outcome, at: now)
        }
        func health(claimsJSON: String) throws -> [ProviderID: ProviderHealthState] { healthRows }
        func claimTrial(provider: ProviderID, at now: Date, claimsJSON: String) throws -> Bool {
            (healthRows[provider] ?? .unknown).claimingTrial(at: now) != nil
        }
        func acquire(provider: ProviderID, requestsPerMinute: Int?, at now: Date, claimsJSON: String) throws -> TokenBucket.Acquisition {
            .granted(.fresh(requestsPerMinute: requestsPerMinute, at: now))
        }
        func observe(_ observation: RateLimitObservation, provider: ProviderID, requestsPerMinute: Int?, at now: Date,
                     claimsJSON: String) throws {
            observed.withLock { $0.append(observation) }
        }
        func buckets(claimsJSON: String) throws -> [ProviderID: TokenBucket] { [:] }
    }

    private let now = Date(timeIntervalSince1970: 1_800_000_000)
    private let identity = AuthenticatedIdentity(userID: UUID(), sessionID: nil, role: "authenticated", claimsJSON: "{}")
    private let catalog = [
        ProviderCapabilities(provider: .openai, models: [ModelCapability(id: "a", kind: .text, parameters: [])]),
        ProviderCapabilities(provider: .anthropic, models: [ModelCapability(id: "b", kind: .text, parameters: [])]),
        ProviderCapabilities(provider: .local, requiresKey: false, models: [ModelCapability(id: "c", kind: .text, parameters: [])]),
    ]

    private func router(_ stores: Stores, keys: Set<ProviderID>, budgets: [ProviderID: Money] = [:]) -> ProviderRouter {
        let catalog = catalog
        return ProviderRouter(configs: stores, health: stores, rates: stores, catalog: { catalog },
                              usableKeys: { _ in keys }, providerBudgetRemaining: { _ in budgets })
    }

    func testThePlanReadsEveryStore() throws {
        let stores = Stores(health: [.anthropic: ProviderHealthState(reopenAt: now.addingTimeInterval(5))],
                            configs: [ProviderConfig(provider: .local, priority: 200)])
        let plan = try router(stores, keys: [.openai, .anthropic], budgets: [.openai: .zero])
            .plan(RouteRequest(kind: .text, prompt: "p") { _, _ in Money(roundingToMaximumScale: 1) }, for: identity, at: now)
        XCTAssertEqual(plan.options.map(\.provider), [.openai, .anthropic, .local])
        XCTAssertEqual(plan.options.map { $0.skipReasons.map(\.code) }, [["over_provider_budget"], ["circuit_open"], []])
    }

    func testObservingAnErrorUsesItsHeadersThenItsRetryAfter() throws {
        let stores = Stores()
        let router = router(stores, keys: [])
        try router.observe(ProviderError(.rateLimited(retryAfter: 3), provider: .openai, message: "slow down",
                                         rateLimitHeaders: ["x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s"]),
                           requestsPerMinute: nil, claimsJSON: "{}", at: now)
        try router.observe(ProviderError(.rateLimited(retryAfter: 4), provider: .veo, message: "exhausted"), requestsPerMinute: nil,
                           claimsJSON: "{}", at: now)
        XCTAssertEqual(stores.observed.withLock { $0 }, [
            RateLimitObservation(remainingRequests: 0, resetAt: now.addingTimeInterval(20), retryAt: now.addingTimeInterval(3)),
            RateLimitObservation(retryAt: now.addingTimeInterval(4)),
        ])
        try router.record(AttemptOutcome(ProviderError(.timeout, provider: .openai, message: "t")), provider: .openai, claimsJSON: "{}", at: now)
        XCTAssertEqual(stores.recorded.withLock { $0 }, [.failure(code: "timeout", retryable: true)])
    }
}
