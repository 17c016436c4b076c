import COpenSSL
import Foundation

/// scrypt cost parameters (RFC 7914). Stored beside the salt of whatever they protect, so that
/// defaults can be raised later without losing the ability to re-derive old keys.
///
/// Text form: `scrypt:n=32768,r=8,p=1,len=32`. JSON form: `{"n":32768,"r":8,"p":1,"length":32}`.
/// Both are validated when read, so stored parameters cannot ask for unbounded memory or time.
public struct ScryptParameters: Sendable, Hashable {
    /// CPU/memory cost, a power of two.
    public let n: UInt64
    /// Block size.
    public let r: UInt32
    /// Parallelisation.
    public let p: UInt32
    /// Output length in bytes.
    public let length: Int

    /// N=2^15, r=8, p=1, 32 bytes: about 32 MiB and a few tenths of a second, run once at start-up.
    public static let `default` = ScryptParameters(validated: 1 << 15, 8, 1, 32)

    /// Up to 2^20 (the largest RFC 7914 test vector), 1 GiB of working memory and 1 KiB of output.
    public static let maximumN: UInt64 = 1 << 20
    public static let maximumMemory: UInt64 = (1 << 30) + (1 << 20)
    public static let maximumLength = 1024

    public init(n: UInt64, r: UInt32, p: UInt32, length: Int) throws {
        guard n >= 2, n <= Self.maximumN, n & (n - 1) == 0 else {
            throw CryptoError.invalidParameters("scrypt n must be a power of two in 2...\(Self.maximumN)")
        }
        guard r >= 1, p >= 1, UInt64(r) * UInt64(p) < 1 << 30 else {
            throw CryptoError.invalidParameters("scrypt r and p must be at least 1 with r*p < 2^30")
        }
        guard (1...Self.maximumLength).contains(length) else {
            throw CryptoError.invalidParameters("scrypt length must be 1...\(Self.maximumLength)")
        }
        self.init(validated: n, r, p, length)
        guard memoryRequired <= Self.maximumMemory else {
            throw CryptoError.invalidParameters("scrypt parameters need more than 1 GiB")
        }
    }

    private init(validated n: UInt64, _ r: UInt32, _ p: UInt32, _ length: Int) {
        self.n = n
        self.r = r
        self.p = p
        self.length = length
    }

    /// The working memory OpenSSL checks against `maxmem`: 128·r·(N+2) for V plus 128·r·p for B.
    /// OpenSSL's own default cap is 32 MiB, which N=2^15, r=8 exceeds by a few KiB, so the cap is
    /// always passed explicitly.
    var memoryRequired: UInt64 {
        128 * UInt64(r) * (n + 2) + 128 * UInt64(r) * UInt64(p)
    }
}

extension ScryptParameters: CustomStringConvertible, LosslessStringConvertible {
    public var description: String { "scrypt:n=\(n),r=\(r),p=\(p),len=\(length)" }

    /// Parses exactly the text form `description` produces (fields in that order, decimal, no spaces).
    public init?(_ text: String) {
        guard text.hasPrefix("scrypt:") else { return nil }
        let fields = text.dropFirst("scrypt:".count).split(separator: ",", omittingEmptySubsequences: false)
        let names = ["n=", "r=", "p=", "len="]
        guard fields.count == names.count else { return nil }
        var values: [UInt64] = []
        for (field, name) in zip(fields, names) {
            guard field.hasPrefix(name) else { return nil }
            let digits = field.dropFirst(name.count)
            // UInt64("+5") would parse; insist on plain digits without leading zeros.
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  digits == "0" || !digits.hasPrefix("0"),
                  let value = UInt64(digits) else { return nil }
            values.append(value)
        }
        guard values[1] <= UInt64(UInt32.max), values[2] <= UInt64(UInt32.max), values[3] <= UInt64(Int.max),
              let parameters = try? ScryptParameters(n: values[0], r: UInt32(values[1]), p: UInt32(values[2]),
                                                     length: Int(values[3]))
        else { return nil }
        self = parameters
    }
}

extension ScryptParameters: Codable {
    private enum CodingKeys: String, CodingKey { case n, r, p, length }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(n: container.decode(UInt64.self, forKey: .n), r: container.decode(UInt32.self, forKey: .r),
                      p: container.decode(UInt32.self, forKey: .p), length: container.decode(Int.self, forKey: .length))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(n, forKey: .n)
        try container.encode(r, forKey: .r)
        try container.encode(p, forKey: .p)
        try container.encode(length, forKey: .length)
    }
}

public enum Scrypt {
    /// Salts should be unique per deployment secret; 16 random bytes is plenty.
    public static let recommendedSaltByteCount = 16

    /// Derives `parameters.length` bytes from a password (for example the deployment secret).
    /// Deliberately slow and memory-hard: call it once and keep the result.
    public static func deriveKey(password: some ContiguousBytes, salt: some ContiguousBytes,
                                 parameters: ScryptParameters = .default) throws -> SecretBytes {
        try SecretBytes(count: parameters.length) { out in
            let ok = password.withUnsafeBytes { password in
                salt.withUnsafeBytes { salt in
                    EVP_PBE_scrypt(password.baseAddress?.assumingMemoryBound(to: CChar.self), password.count,
                                   salt.baseAddress?.assumingMemoryBound(to: UInt8.self), salt.count,
                                   parameters.n, UInt64(parameters.r), UInt64(parameters.p),
                                   parameters.memoryRequired + (1 << 20),
                                   out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
                }
            }
            guard ok == 1 else {
                ERR_clear_error()
                throw CryptoError.libraryFailure("EVP_PBE_scrypt")
            }
        }
    }
}
