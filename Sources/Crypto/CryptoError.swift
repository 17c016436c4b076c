/// Failures of the primitives in this module. None of the cases carries secret material, so an
/// error can be logged as it is.
public enum CryptoError: Error, Sendable, Equatable {
    /// The system random generator refused; nothing was produced and no fallback was tried.
    case randomUnavailable
    /// A sealed envelope did not open. Deliberately one case for a wrong key, any changed or
    /// missing byte, changed associated data and an unknown format version, so that a caller
    /// (or an attacker watching responses) cannot tell them apart.
    case openFailed
    /// The envelope names a key version the keyring does not hold.
    case unknownKeyVersion(UInt32)
    /// A key of the wrong size was offered.
    case invalidKeyLength(expected: Int, actual: Int)
    /// A parameter is out of its documented range; the text says which one.
    case invalidParameters(String)
    /// The password is longer than bcrypt's 72-byte limit (bcrypt would silently ignore the rest).
    case passwordTooLong
    /// The password contains a NUL byte, which crypt(3) would treat as its end.
    case passwordContainsNUL
    /// The stored value is not a `$2a$`/`$2b$`/`$2y$` bcrypt hash.
    case invalidPasswordHash
    /// An OpenSSL or libxcrypt call failed where it should not; the text names the call.
    case libraryFailure(String)
}
