import COpenSSL
import Foundation

public enum ConstantTime {
    /// Compares two byte strings in time that depends only on their length, so that timing does
    /// not reveal how many leading bytes of a MAC, token or hash matched. Lengths are public:
    /// different lengths return `false` at once.
    public static func equals(_ lhs: some ContiguousBytes, _ rhs: some ContiguousBytes) -> Bool {
        lhs.withUnsafeBytes { a in
            rhs.withUnsafeBytes { b in
                guard a.count == b.count else { return false }
                guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
                return CRYPTO_memcmp(pa, pb, a.count) == 0
            }
        }
    }
}
