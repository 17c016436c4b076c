import Foundation

/// A real hash of a random password, verified when the email is unknown so that a wrong email and
/// a wrong password take the same time. Made on first use (or by `prepare`, which the server calls
/// beside serving) rather than when the service is built: a hash costs as much as a sign-in, and it
/// was most of the server's start-up time.
final class DummyPasswordHash: @unchecked Sendable {
    private let hasher: any PasswordHasher
    // Guards `hash`; held while hashing, so concurrent first uses wait for the one hash.
    private let lock = NSLock()
    private var hash: String?

    init(hasher: any PasswordHasher) {
        self.hasher = hasher
    }

    /// The hash, made now if it was not yet. A hasher that fails leaves it unmade, to be tried again;
    /// the caller's verification then fails, as it must for an unknown email.
    var value: String {
        lock.lock()
        defer { lock.unlock() }
        if let hash { return hash }
        let made = try? hasher.hash(UUID().uuidString)
        hash = made
        return made ?? ""
    }
}
