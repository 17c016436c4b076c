import Foundation

/// What a quote (and so an admission) reads before it prices anything, read together in ONE
/// round trip: the project, the current pricing version's id and the caller's routing state; and,
/// for an identity whose live-session check is deferred to this read
/// (`AuthenticatedIdentity.sessionCheckDeferred`), the session's state.
public struct QuoteReads: Sendable {
    /// nil: no such project of the caller's.
    public let project: Project?
    /// nil: no pricing version is loaded.
    public let pricingVersionID: String?
    public let routing: RoutingReads
    /// Read only for a deferred session check; nil then: the session is gone or not the caller's.
    public let session: SessionState?
    /// Read by an earlier admission and reused (`RecentQuoteReads`): up to its maximum age old, so
    /// what it refuses is decided again on fresh reads.
    public var reused = false

    public init(project: Project?, pricingVersionID: String?, routing: RoutingReads, session: SessionState?) {
        self.project = project
        self.pricingVersionID = pricingVersionID
        self.routing = routing
        self.session = session
    }
}
