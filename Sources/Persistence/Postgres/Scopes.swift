/// The only two ways to run statements with a database identity other than the login role's.
///
/// Both open one transaction, switch role with `set local role` and set the claims with
/// `set_config(..., true)`, so nothing outlives the transaction: a pooled connection never carries
/// one request's identity into the next (no session-level SET, ever).
extension ConnectionPool {
    /// Acts for one user: RLS policies see `auth.uid()` = the claims' `sub`. `claimsJSON` is the
    /// verified JWT payload (or claims built the same way for background work).
    @discardableResult
    public func withUserScope<T>(claimsJSON: String, readOnly: Bool = false, _ body: (borrowing Transaction) throws -> T) throws -> T {
        try withTransaction(readOnly: readOnly) { transaction in
            try transaction.query("set local role authenticated")
            // `set role` does not apply the role's own settings, so its timeout is set here (as PostgREST does).
            try transaction.query("set local statement_timeout = '8s'")
            try transaction.query("select set_config('request.jwt.claims', \(claimsJSON), true)")
            return try body(transaction)
        }
    }

    /// SERVICE ROLE: bypasses RLS. Only for auth internals (users, sessions, refresh tokens),
    /// migrations and cross-user maintenance; never for work done on a user's behalf.
    @discardableResult
    public func withServiceRole<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        try withTransaction { transaction in
            try transaction.query("set local role service_role")
            try transaction.query("select set_config('request.jwt.claims', \(#"{"role":"service_role"}"#), true)")
            return try body(transaction)
        }
    }
}
