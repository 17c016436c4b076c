/// The only two ways to run statements with a database identity other than the login role's.
///
/// Both open one transaction and switch role and claims with `set_config(..., true)` (the same as
/// `set local role` and `set local request.jwt.claims`), so nothing outlives the transaction: a pooled connection never carries
/// one request's identity into the next (no session-level SET, ever).
extension ConnectionPool {
    /// Acts for one user: RLS policies see `auth.uid()` = the claims' `sub`. `claimsJSON` is the
    /// verified JWT payload (or claims built the same way for background work).
    @discardableResult
    public func withUserScope<T>(claimsJSON: String, readOnly: Bool = false, _ body: (borrowing Transaction) throws -> T) throws -> T {
        try withTransaction(readOnly: readOnly, setup: Self.userScope(claimsJSON: claimsJSON), body)
    }

    static func userScope(claimsJSON: String) -> SQL {
        // One statement: set_config(..., true) is SET LOCAL (role included), and `set role` does not
        // apply the role's own settings, so its timeout is set here as PostgREST does. The subject
        // goes into `request.jwt.claim.sub` too, read out of the same claims: auth.uid() looks there
        // first, and otherwise parses the whole claims document on each of its calls (every RLS check
        // and ledger function calls it; a generation made about a hundred such calls).
        // `plan_cache_mode`: the app_engine and app_ledger functions' statements look rows up by id,
        // so their generic plans are as good as any, and PostgreSQL otherwise planned them again on
        // many calls (custom plans); a chat completion's database CPU fell by about a tenth
        // (scripts/profile-chat-database.sh). Our own statements are one-shot and unaffected.
        """
        select set_config('role', 'authenticated', true), set_config('statement_timeout', '8s', true),
               set_config('request.jwt.claims', \(claimsJSON), true),
               set_config('request.jwt.claim.sub', coalesce(\(claimsJSON)::jsonb ->> 'sub', ''), true),
               set_config('plan_cache_mode', 'force_generic_plan', true)
        """
    }

    /// SERVICE ROLE: bypasses RLS. Only for auth internals (users, sessions, refresh tokens),
    /// migrations and cross-user maintenance; never for work done on a user's behalf.
    @discardableResult
    public func withServiceRole<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        try withTransaction(setup: Self.serviceRoleScope, body)
    }

    static let serviceRoleScope: SQL = """
        select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)
        """
}

extension ConnectionPool {
    /// Reads of reference data that every signed-in user may read (pricing), as `authenticated`
    /// with no user: such tables admit `authenticated` through a `using (true)` policy, while
    /// every user-owned table shows no rows (`auth.uid()` is null). For callers that hold no
    /// user's claims (the pricing port has none); read-only.
    @discardableResult
    public func withSharedReadScope<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        try withTransaction(readOnly: true, setup: Self.sharedReadScope, body)
    }

    static let sharedReadScope: SQL = """
        select set_config('role', 'authenticated', true), set_config('statement_timeout', '8s', true),
               set_config('request.jwt.claims', '{"role":"authenticated"}', true)
        """
}
