import Domain
import Foundation
import Synchronization

/// Access tokens already verified, with the identity their claims gave. A client sends the same
/// token on every request until it expires, and verifying it again (base64url, HMAC, two JSON
/// parses) was ~15 % of the server's time on a cheap read (BENCHMARKS.md, "Reads").
///
/// Keyed by the exact token text, so a hit needs the very bytes whose signature was checked
/// (the signing secret does not change while the process runs). `exp` and `nbf` are checked again
/// on every hit with the verifier's leeway, so a cached token expires exactly when a verified one
/// would. Bounded: when full, the whole cache is dropped and refills from the tokens in use.
final class VerifiedTokens: Sendable {
    private struct Entry {
        let identity: AuthenticatedIdentity
        let expiresAt: TimeInterval
        let notBefore: TimeInterval?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let capacity: Int
    private let leeway: TimeInterval

    init(capacity: Int = 1024, leeway: TimeInterval) {
        self.capacity = capacity
        self.leeway = leeway
    }

    /// The identity of a token verified before, if it is still within its validity at `now`.
    func identity(of token: String, now: Date) -> AuthenticatedIdentity? {
        guard let entry = entries.withLock({ $0[token] }) else { return nil }
        let seconds = now.timeIntervalSince1970
        guard seconds < entry.expiresAt + leeway else { return nil }
        if let notBefore = entry.notBefore, seconds < notBefore - leeway { return nil }
        return entry.identity
    }

    /// Remembers a token that has just verified. Tokens without `exp` are not kept.
    func remember(_ token: String, identity: AuthenticatedIdentity, expiresAt: Date?, notBefore: Date?) {
        guard let expiresAt else { return }
        let entry = Entry(identity: identity, expiresAt: expiresAt.timeIntervalSince1970, notBefore: notBefore?.timeIntervalSince1970)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = entry
        }
    }
}
