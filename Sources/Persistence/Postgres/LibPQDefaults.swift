import Foundation

/// Process-wide libpq defaults, set by the composition root before its first connection.
public enum LibPQDefaults {
    /// GSSAPI encryption is off unless configured. With libpq's default (`prefer`) every new
    /// connection first asks Kerberos for credentials (krb5.conf, the credential cache) before it
    /// tries TLS or plain TCP; this server never authenticates to its database with Kerberos, and
    /// that probe alone kept ~0.5 MB of Kerberos code resident (BENCHMARKS.md, "Footprint").
    /// `gssencmode` in DATABASE_URL, or PGGSSENCMODE set in the environment, still decides.
    /// Call before any thread starts: `setenv` is not thread-safe.
    public static func apply() {
        setenv("PGGSSENCMODE", "disable", 0)
    }
}
