import Domain
import Foundation
import Persistence

/// Re-tests failing providers in the background: a provider whose circuit is due for its trial is
/// checked with the free key check (no generation is spent on it) and the result goes on its
/// health like an attempt's, so a recovered provider is routed to again without a user paying for
/// the trial. Bounded: a few per round, each on the key-check work queue (never an HTTP thread).
struct ProviderRetest: Sendable {
    let failing: PostgresFailingProviders
    let vault: KeyVault
    let checks: KeyChecks
    let router: ProviderRouter
    static let perRound = 4

    /// Queues the checks of one round; returns how many were queued.
    @discardableResult
    func runOnce() -> Int {
        guard let due = try? failing.due(limit: Self.perRound) else { return 0 }
        var queued = 0
        for (userID, provider) in due {
            guard let slot = checks.queue.reserve() else { break }
            let (vault, checks, router) = (vault, checks, router)
            slot.run {
                Self.check(provider, userID: userID, vault: vault, checks: checks, router: router)
            }
            queued += 1
        }
        return queued
    }

    static func check(_ provider: ProviderID, userID: UUID, vault: KeyVault, checks: KeyChecks, router: ProviderRouter) {
        let claims = GenerationExecutor.claims(for: userID)
        let identity = AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims)
        // Only a trial's winner checks, so two processes never both re-test one provider.
        guard (try? router.claimTrial(provider, claimsJSON: claims, at: Date())) == true,
              let key = try? vault.list(identity).first(where: { $0.provider == provider && $0.status != .invalid })
        else { return }
        let started = Date()
        let verdict = (try? vault.test(identity, id: key.id.uuidString) { checks.providers.provider($0) })?.verdict
        let outcome: AttemptOutcome = verdict == .valid
            ? .success(latency: Date().timeIntervalSince(started))
            : .failure(code: "key_check_failed", retryable: true)
        _ = try? router.record(outcome, provider: provider, claimsJSON: claims, at: Date())
    }
}
