import Foundation

/// What a request would cost with each candidate, which budgets it would touch, and whether it
/// would be admitted.
public struct Quote: Sendable {
    public struct Candidate: Sendable {
        public let rank: Int
        public let provider: ProviderID
        public let model: String
        public let estimate: CostEstimate
        public let admitted: Bool
        /// Stable codes: `unsupported_parameters`, `no_api_key`, `unpriced`, `over_max_cost`, `over_project_budget`, `over_user_budget`.
        public let reasons: [String]
        /// When a candidate skipped only for a while (`circuit_open`, `rate_limited`) is expected to
        /// take requests again: the latest of its reasons' ends.
        public var retryAt: Date? = nil
    }

    public struct BudgetImpact: Sendable {
        public let scope: String
        public let projectID: UUID
        public let budget: BudgetSummary
        /// What would remain after the estimate of the candidate the router would take (the first
        /// admitted one in routing order); nil without a limit.
        public let remainingAfter: Money?
        /// The rank of that candidate; nil when none is admitted.
        public let admittedCandidateRank: Int?
    }

    public let projectID: UUID
    public let kind: MediaKind
    public let pricingVersionID: String
    public let candidates: [Candidate]
    public let budgets: [BudgetImpact]
    /// True when at least one candidate would be admitted.
    public var admitted: Bool { candidates.contains { $0.admitted } }
}
