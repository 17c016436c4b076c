import Crypto
import Domain
import Foundation
import Persistence

/// Where blobs live: content-addressed files under STORAGE_DIR (the default), or an
/// S3-compatible bucket (`STORAGE_BACKEND=s3`; STORAGE_DIR then holds only providers' scratch
/// files). Read and checked with the rest of the configuration, so a bad value stops start-up
/// with a sentence naming the variable; the secret key's value is never in one.
enum StorageBackend: Sendable, CustomStringConvertible {
    case local
    case s3(S3Settings)

    static let variableNames = ["STORAGE_BACKEND", "S3_ENDPOINT", "S3_REGION", "S3_BUCKET", "S3_ACCESS_KEY_ID",
                                "S3_SECRET_ACCESS_KEY", "S3_ADDRESSING"]

    var description: String {
        switch self {
        case .local: return "local"
        case let .s3(settings): return settings.description
        }
    }

    /// The backend and the problems found (empty when usable). `requireHTTPS` is production's rule.
    static func load(from env: [String: String], requireHTTPS: Bool) -> (StorageBackend, [String]) {
        func value(_ name: String) -> String? {
            guard let raw = env[name]?.trimmingWhitespaces, !raw.isEmpty else { return nil }
            return raw
        }
        switch value("STORAGE_BACKEND") ?? "local" {
        case "local":
            return (.local, [])
        case "s3":
            var problems: [String] = []
            let required = ["S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"]
            for name in required where value(name) == nil {
                problems.append("\(name) is required when STORAGE_BACKEND=s3")
            }
            guard problems.isEmpty else { return (.local, problems) }
            switch S3Settings.validated(endpoint: value("S3_ENDPOINT") ?? "", region: value("S3_REGION") ?? "us-east-1",
                                        bucket: value("S3_BUCKET") ?? "", accessKeyID: value("S3_ACCESS_KEY_ID") ?? "",
                                        secretAccessKey: value("S3_SECRET_ACCESS_KEY") ?? "",
                                        addressing: value("S3_ADDRESSING") ?? "path", requireHTTPS: requireHTTPS) {
            case let .success(settings): return (.s3(settings), [])
            case let .failure(error): return (.local, error.problems)
            }
        case let other:
            return (.local, ["STORAGE_BACKEND must be local or s3 (got \"\(other.prefix(40))\")"])
        }
    }

    /// The store the engine writes outputs through. Neither adapter touches the network here.
    func makeBlobStore(storageDirectory: String) throws -> any BlobStore {
        switch self {
        case .local:
            return try LocalBlobStore(root: storageDirectory, digest: { try SHA256.hash($0) }, streamingDigest: { try SHA256Stream() })
        case let .s3(settings):
            return try S3BlobStore(settings: settings, primitives: .crypto, scratchDirectory: storageDirectory)
        }
    }
}

extension SigV4Primitives {
    /// The Crypto module's SHA-256 and HMAC-SHA256 for the S3 adapter (Persistence does not link Crypto).
    static let crypto = SigV4Primitives(sha256: { try SHA256.hash($0) },
                                        hmacSHA256: { key, message in try HMACSHA256.mac(for: message, key: key) },
                                        sha256OfFile: { try SHA256.hash(fileAt: $0) })
}
