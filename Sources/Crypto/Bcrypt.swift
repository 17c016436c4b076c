import COpenSSL
import CXCrypt
import Foundation

/// bcrypt password hashes through libxcrypt, interchangeable with GoTrue's
/// `auth.users.encrypted_password` (Go's bcrypt writes `$2a$`; this writes `$2b$`; both verify).
public enum Bcrypt {
    /// GoTrue's `bcrypt.DefaultCost`.
    public static let defaultCost = 10
    public static let costRange = 4...31
    /// bcrypt reads at most 72 bytes and silently ignores the rest; GoTrue refuses longer
    /// passwords instead of letting two passwords with the same first 72 bytes match.
    public static let maximumPasswordByteCount = 72

    /// A new `$2b$` hash with a fresh 128-bit salt.
    ///
    /// - Throws: `CryptoError.passwordTooLong` (over 72 UTF-8 bytes: a validation error for the
    ///   client), `CryptoError.passwordContainsNUL`, `CryptoError.invalidParameters` for a cost
    ///   outside 4...31.
    public static func hash(_ password: String, cost: Int = defaultCost) throws -> String {
        guard costRange.contains(cost) else { throw CryptoError.invalidParameters("bcrypt cost must be 4...31") }
        let phrase = SecretBytes(utf8: password)
        guard phrase.count <= maximumPasswordByteCount else { throw CryptoError.passwordTooLong }
        guard !phrase.withUnsafeBytes({ $0.contains(0) }) else { throw CryptoError.passwordContainsNUL }

        let randomBytes = try SecureRandom.bytes(count: 16)
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let made = randomBytes.withUnsafeBytes { random in
            crypt_gensalt_rn("$2b$", UInt(cost), random.baseAddress?.assumingMemoryBound(to: CChar.self),
                             Int32(random.count), &setting, Int32(setting.count))
        }
        guard made != nil else { throw CryptoError.libraryFailure("crypt_gensalt_rn") }
        let hash = try crypt(phrase, setting: String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        guard isWellFormed(hash) else { throw CryptoError.libraryFailure("crypt_rn") }
        return hash
    }

    /// Whether `password` matches a stored `$2a$`, `$2b$` or `$2y$` hash, comparing the complete
    /// hash strings in constant time.
    ///
    /// A password over 72 bytes or containing NUL never matches (it could not have been set
    /// through `hash`), so the 72-byte truncation cannot be used to log in.
    /// - Throws: `CryptoError.invalidPasswordHash` when `hash` is not a bcrypt hash.
    public static func verify(_ password: String, against hash: String) throws -> Bool {
        guard isWellFormed(hash) else { throw CryptoError.invalidPasswordHash }
        let phrase = SecretBytes(utf8: password)
        guard phrase.count <= maximumPasswordByteCount, !phrase.withUnsafeBytes({ $0.contains(0) }) else { return false }
        let computed = try crypt(phrase, setting: hash)
        return ConstantTime.equals(Array(computed.utf8), Array(hash.utf8))
    }

    /// True when `hash` was made with another cost than `cost` (or is not a bcrypt hash at all),
    /// so that a successful login can store a fresh hash.
    public static func needsRehash(_ hash: String, cost: Int = defaultCost) -> Bool {
        self.cost(of: hash) != cost
    }

    /// The cost of a well-formed hash, else nil.
    static func cost(of hash: String) -> Int? {
        guard isWellFormed(hash) else { return nil }
        let utf8 = Array(hash.utf8)
        return Int(utf8[4] - UInt8(ascii: "0")) * 10 + Int(utf8[5] - UInt8(ascii: "0"))
    }

    /// `$2a$`/`$2b$`/`$2y$`, a two-digit cost in range, `$`, then 22 salt and 31 hash characters of
    /// bcrypt's base64 alphabet: 60 bytes in all. Anything else (other crypt schemes included) is
    /// refused before libxcrypt sees it.
    static func isWellFormed(_ hash: String) -> Bool {
        let utf8 = Array(hash.utf8)
        guard utf8.count == 60, utf8[0] == UInt8(ascii: "$"), utf8[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(utf8[2]),
              utf8[3] == UInt8(ascii: "$"), utf8[6] == UInt8(ascii: "$"),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[4]),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(utf8[5])
        else { return false }
        let cost = Int(utf8[4] - UInt8(ascii: "0")) * 10 + Int(utf8[5] - UInt8(ascii: "0"))
        guard costRange.contains(cost) else { return false }
        return utf8[7...].allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            default: return false
            }
        }
    }

    /// One call of `crypt_rn`. `struct crypt_data` is about 32 KiB, so it lives on the heap (server
    /// threads may have small stacks) and is cleansed afterwards, since it holds state derived
    /// from the password.
    static func crypt(_ phrase: SecretBytes, setting: String) throws -> String {
        let size = MemoryLayout<crypt_data>.size
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        data.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        defer {
            OPENSSL_cleanse(data, size)
            data.deallocate()
        }
        // crypt(3) wants a C string: copy into protected storage with a terminating NUL.
        let terminated = SecretBytes(count: phrase.count + 1) { out in
            phrase.withUnsafeBytes { out.copyMemory(from: $0) }
            out[phrase.count] = 0
        }
        let result = terminated.withUnsafeBytes { phraseBytes in
            setting.withCString { setting in
                crypt_rn(phraseBytes.baseAddress!.assumingMemoryBound(to: CChar.self), setting, data, Int32(size))
            }
        }
        // crypt_rn returns NULL on failure; other crypt entry points return a string starting
        // with "*" instead, so both are treated as failure.
        guard let result, result.pointee != CChar(UInt8(ascii: "*")) else {
            throw CryptoError.libraryFailure("crypt_rn")
        }
        return String(cString: result)
    }
}
