import Domain
import Foundation

/// The router's five reads of a caller's routing state (configurations, health, usable keys,
/// rate buckets, provider budget figures) in one read-only transaction and ONE round trip, rather
/// than one transaction per store. Each result is read as its own store reads it. A quote (and so
/// an admission) reads them with the project, the current pricing version's id and, when its
/// live-session check is deferred to it, the session: still one round trip (`quoteReads`).
public struct PostgresRoutingReads: Sendable {
    let pool: ConnectionPool
    let sharedQuoteReads: GroupCommit<SharedQuoteReadKey, Void, QuoteReads>
    /// Admissions' reads kept for reuse (`recentQuoteReads`); nil: never kept.
    let recent: RecentQuoteReads?

    public init(pool: ConnectionPool, recent: RecentQuoteReads? = nil) {
        self.pool = pool
        self.recent = recent
        // At most 64 requests share one read; one still queued after the pool's acquire timeout
        // gives up, as one waiting for a connection does.
        sharedQuoteReads = GroupCommit(limit: 64, queueTimeout: pool.configuration.acquireTimeout)
    }

    public func reads(for identity: AuthenticatedIdentity) throws -> RoutingReads {
        try Self.routing(from: try pool.userScopeRoundTrip(claimsJSON: identity.claimsJSON, readOnly: true, Self.routingStatements))
    }

    /// Everything `QuoteService.pricedQuote` reads, in one round trip. The session's state comes
    /// first: a refused session's caller is refused before anything read here is used.
    ///
    /// Requests for the same project under the same token that arrive while such a read is in flight
    /// share the next one (`GroupCommit`): it starts after each of them arrived, so each sees what it
    /// would have read alone, and one round trip serves them all.
    public func quoteReads(project: UUID, as identity: AuthenticatedIdentity) throws -> QuoteReads {
        try sharedRead(try Self.key(project: project, identity), project: project, as: identity)
    }

    /// As `quoteReads`, or (unless `renew`) an earlier admission's read of the same project and token
    /// that `recent` kept (marked `reused`); a fresh read is kept for the next in its place when it may be.
    public func recentQuoteReads(project: UUID, as identity: AuthenticatedIdentity, renew: Bool = false) throws -> QuoteReads {
        let key = try Self.key(project: project, identity)
        guard let recent else { return try sharedRead(key, project: project, as: identity) }
        return try recent.reads(for: key, renew: renew) { try sharedRead(key, project: project, as: identity) }
    }

    private static func key(project: UUID, _ identity: AuthenticatedIdentity) throws -> SharedQuoteReadKey {
        // A token without a session id has no session to find: refused as `requireLiveSession` refuses it.
        if identity.sessionCheckDeferred, identity.sessionID == nil { throw AuthError.sessionNotFound }
        return SharedQuoteReadKey(projectID: project, claimsJSON: identity.claimsJSON, checksSession: identity.sessionCheckDeferred)
    }

    private func sharedRead(_ key: SharedQuoteReadKey, project: UUID, as identity: AuthenticatedIdentity) throws -> QuoteReads {
        let checksSession = key.checksSession
        return try sharedQuoteReads.submit((), key: key) { group in
            let read = Result { try readQuote(project: project, as: identity, checksSession: checksSession) }
            return group.map { _ in read }
        }
    }

    private func readQuote(project: UUID, as identity: AuthenticatedIdentity, checksSession: Bool) throws -> QuoteReads {
        let session: [SQL] = checksSession
            ? ["select not_after, banned_until, user_deleted from app_engine.session_state(\(identity.sessionID))"] : []
        let results = try pool.userScopeRoundTrip(claimsJSON: identity.claimsJSON, readOnly: true, session + [
            "\(ProjectSQL.select) where p.id = \(project)",
            "select id from pricing.versions where is_current",
        ] + Self.routingStatements)
        let offset = session.count
        guard results.count == offset + 2 + Self.routingStatements.count else {
            throw DecodingFailure(column: "quote reads", expected: "\(offset + 2 + Self.routingStatements.count) results")
        }
        let state = try results.first.flatMap { checksSession ? $0.first : nil }.map { row in
            SessionState(notAfter: try row.decodeIfPresent("not_after"), bannedUntil: try row.decodeIfPresent("banned_until"),
                         userDeleted: try row.decode("user_deleted"))
        }
        return QuoteReads(project: try results[offset].first.map(ProjectSQL.project(from:)),
                          pricingVersionID: try results[offset + 1].first?.decode("id", as: String.self),
                          routing: try Self.routing(from: Array(results.dropFirst(offset + 2))), session: state)
    }

    static let routingStatements: [SQL] = [
        "select \(PostgresProviderConfigStore.columns) from public.provider_configs order by provider",
        "select \(PostgresProviderHealthStore.columns) from public.provider_health",
        // As KeyVault.list filtered by the router: providers with a key not known to be invalid.
        "select distinct provider from public.user_api_keys where status <> 'invalid'",
        "select provider, tokens, updated_at, blocked_until from public.provider_rate_limits",
        PostgresBudgetLedger.scopeTotalsStatement,
    ]

    private static func routing(from results: [[PostgresRow]]) throws -> RoutingReads {
        guard results.count == 5 else { throw DecodingFailure(column: "routing reads", expected: "five results") }
        var health: [ProviderID: ProviderHealthState] = [:]
        for row in results[1] {
            if let provider = ProviderID(rawValue: try row.decode("provider")) { health[provider] = try PostgresProviderHealthStore.state(from: row) }
        }
        var buckets: [ProviderID: TokenBucket] = [:]
        for row in results[3] {
            if let provider = ProviderID(rawValue: try row.decode("provider")) { buckets[provider] = try PostgresRateLimitStore.bucket(from: row) }
        }
        var remaining: [ProviderID: Money] = [:]
        var userRemaining: Money?
        for figures in try results[4].map({ try PostgresBudgetLedger.figures($0) }) {
            switch figures.scope {
            case .provider(let provider): if let left = figures.remaining { remaining[provider] = left }
            case .user: userRemaining = figures.remaining
            case .project: break
            }
        }
        return RoutingReads(configs: try results[0].compactMap(PostgresProviderConfigStore.config(from:)), health: health,
                            usableKeys: Set(try results[2].compactMap { ProviderID(rawValue: try $0.decode("provider")) }),
                            buckets: buckets, providerBudgetRemaining: remaining, userBudgetRemaining: userRemaining)
    }
}

/// Quote reads are shared only between requests that would read exactly the same: the same project,
/// the same token (so the same user, session and claims) and the same session check.
struct SharedQuoteReadKey: Hashable, Sendable {
    let projectID: UUID
    let claimsJSON: String
    let checksSession: Bool

    /// As `ProjectWriterKey`'s: the project and the claims' length, the whole claims compared on equality.
    func hash(into hasher: inout Hasher) {
        hasher.combine(projectID)
        hasher.combine(claimsJSON.utf8.count)
        hasher.combine(checksSession)
    }
}
