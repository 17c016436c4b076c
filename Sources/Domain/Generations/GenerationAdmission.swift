import Foundation

/// Why a generation was not admitted.
public enum AdmissionRefusal: Error, Sendable, Equatable {
    /// The reservation would take `scope` past its limit by `shortfall`.
    case budgetExceeded(scope: String, limit: Money, spent: Money, reserved: Money, needed: Money, shortfall: Money)
    /// No candidate can run it; each skipped one with its reasons (`unpriced`, `no_api_key`, ...).
    case noCandidate(unpriced: Bool, skipped: [GenerationPlan.Skipped])
}

/// `POST /v1/generations` up to the 202: validate and route as a quote does, reserve the estimate
/// of the dearest candidate it may run on, and create the generation already leased to this process.
public struct GenerationAdmission: Sendable {
    public let routing: any GenerationRouting
    public let store: any GenerationStore
    public let ledger: any BudgetReservations
    public let leaseOwner: String
    public let leaseSeconds: Int
    /// When set, a generation started here has its first attempt cleared in admission's call.
    public let clearing: FirstAttemptClearing?

    public init(routing: any GenerationRouting, store: any GenerationStore, ledger: any BudgetReservations,
                leaseOwner: String, leaseSeconds: Int, clearing: FirstAttemptClearing? = nil) {
        self.clearing = clearing
        self.routing = routing
        self.store = store
        self.ledger = ledger
        self.leaseOwner = leaseOwner
        self.leaseSeconds = leaseSeconds
    }

    /// `startHere`: the caller runs the generation at once (`GenerationRunner.step` with the
    /// returned record as `admitted`), so it is created `running` with its first submission
    /// marked in flight; otherwise it is created `queued` for whoever takes it.
    ///
    /// The plan may rest on an earlier admission's reads of the same project and token (at most
    /// `ADMISSION_READ_REUSE_MS` old): the reservation, the key and the rate token are still decided
    /// by the database, and a refusal on such a plan is decided again on fresh reads, so reads that
    /// are out of date can delay a change of route by that long, never refuse what fresh ones admit.
    public func admit(_ request: QuoteRequest, settings: GenerationSettings, as identity: AuthenticatedIdentity,
                      startHere: Bool = false) throws -> GenerationRecord {
        let plan = try routing.plan(request, as: identity, reusingRecentReads: true)
        do {
            return try admit(request, settings: settings, as: identity, startHere: startHere, plan: plan)
        } catch is AdmissionRefusal where plan.readsReused {
            let fresh = try routing.plan(request, as: identity, reusingRecentReads: false)
            return try admit(request, settings: settings, as: identity, startHere: startHere, plan: fresh)
        }
    }

    private func admit(_ request: QuoteRequest, settings: GenerationSettings, as identity: AuthenticatedIdentity,
                       startHere: Bool, plan: GenerationPlan) throws -> GenerationRecord {
        guard let projectID = UUID(readingText: request.projectID) else { throw DomainError.notFound(resource: "project") }
        guard var first = plan.candidates.first else {
            let unpriced = !plan.skipped.isEmpty && plan.skipped.allSatisfy { $0.reasons.contains("unpriced") }
            throw AdmissionRefusal.noCandidate(unpriced: unpriced, skipped: plan.skipped)
        }
        // The reservation covers every candidate the generation may fall back to, so what is spent
        // never exceeds what was reserved. When a budget cannot hold the dearest, the dearest are
        // dropped and the rest is tried, the first candidate among them, so the generation runs on
        // the first candidate in routing order whose estimate fits, as its quote says.
        var candidates = plan.candidates
        let id = UUID()
        var amount = candidates.map(\.estimate).max() ?? first.estimate
        while true {
            // One call reserves on every scope and creates the row. The provider scope held is the
            // first candidate's; a fallback's charge moves to the one that served.
            let generation = NewGeneration(
                id: id, projectID: projectID, kind: request.kind, prompt: request.prompt, settings: settings,
                requestedProvider: request.provider, requestedModel: request.model, candidates: candidates, estimate: amount,
                maxCost: request.maxCost, pricingVersion: plan.pricing.id)
            // Started here: the first attempt is cleared in the same call (gate, rate token, key).
            let check = startHere ? clearing?.check(first.provider, at: Date()) : nil
            let (outcome, record) = try store.admit(generation, reserveOn: first.provider, start: startHere, leaseOwner: leaseOwner,
                                                    leaseSeconds: leaseSeconds, clearing: check, claimsJSON: identity.claimsJSON)
            if let record { return record }
            // Only the project's and the user's limits hold every candidate alike; a refusal on the
            // first candidate's provider scope is the provider's (its quote passes it over).
            let cheaper = candidates.filter { $0.estimate < amount }
            guard outcome.scope == "project" || outcome.scope == "user", let nextFirst = cheaper.first else {
                let limit = outcome.limit ?? .zero
                let shortfall = outcome.spent + outcome.reserved + amount - limit
                throw AdmissionRefusal.budgetExceeded(scope: outcome.scope, limit: limit, spent: outcome.spent, reserved: outcome.reserved,
                                                      needed: amount, shortfall: shortfall)
            }
            candidates = cheaper
            first = nextFirst
            amount = candidates.map(\.estimate).max() ?? first.estimate
        }
    }
}
