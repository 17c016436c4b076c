/// A lock on one kind of write of the caller's (`auth.uid()`), held to the end of the transaction:
/// a limit counted before an insert cannot then be passed by two of the user's transactions at once.
enum UserLocks {
    /// `purpose` names the kind ("projects", "api keys", "storage quota"); other kinds and users do not wait.
    static func lock(_ purpose: String) -> SQL {
        "select pg_advisory_xact_lock(hashtextextended(\(purpose)::text || ' ' || (select auth.uid())::text, 17))"
    }
}
