import Foundation

/// The hash functions SigV4 and the content-addressed keys need. Persistence does not link the
/// Crypto module, so the composition root passes its functions in (as it does `LocalBlobStore`'s
/// `digest`); tests pass the same ones.
public struct SigV4Primitives: Sendable {
    public let sha256: @Sendable (Data) throws -> [UInt8]
    public let hmacSHA256: @Sendable (_ key: [UInt8], _ message: Data) throws -> [UInt8]
    /// SHA-256 of a file, streamed from disk (never the whole file in memory).
    public let sha256OfFile: @Sendable (_ path: String) throws -> [UInt8]

    public init(sha256: @escaping @Sendable (Data) throws -> [UInt8],
                hmacSHA256: @escaping @Sendable (_ key: [UInt8], _ message: Data) throws -> [UInt8],
                sha256OfFile: @escaping @Sendable (_ path: String) throws -> [UInt8]) {
        self.sha256 = sha256
        self.hmacSHA256 = hmacSHA256
        self.sha256OfFile = sha256OfFile
    }
}

