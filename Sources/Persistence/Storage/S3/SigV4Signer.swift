import Domain
import Foundation

/// An access key pair. The secret is never part of a description, so a credentials value can
/// be logged or interpolated into an error by mistake without leaking it.
public struct SigV4Credentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let accessKeyID: String
    let secretAccessKey: String

    public init(accessKeyID: String, secretAccessKey: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }

    public var description: String { "SigV4Credentials(accessKeyID: \(accessKeyID), secretAccessKey: ***)" }
    public var debugDescription: String { description }
}

/// One request as SigV4 sees it. The path and the query are not yet percent-encoded: the signer
/// encodes them exactly once (RFC 3986 unreserved characters stay), which is what S3 expects.
public struct SigV4Request: Sendable {
    public var method: String
    public var path: String
    public var query: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    /// Lowercase hex SHA-256 of the body, or `UNSIGNED-PAYLOAD` (presigned URLs).
    public var payloadHash: String

    public init(method: String, path: String, query: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = [], payloadHash: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }
}

/// AWS Signature Version 4 (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
/// canonical request → string to sign → signature under a key derived from the secret, date,
/// region and service. Pure apart from the injected hash functions, so it is tested against
/// AWS's published test-suite vectors.
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public let credentials: SigV4Credentials
    public let region: String
    public let service: String
    /// Other services resolve `.`/`..` and repeated slashes before signing; S3 signs the path as
    /// it is (an object may be named `a//b`), so this is false for S3.
    public let normalizesPath: Bool
    let primitives: SigV4Primitives

    public init(credentials: SigV4Credentials, region: String, service: String, normalizesPath: Bool,
                primitives: SigV4Primitives) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath
        self.primitives = primitives
    }

    /// `20150830/us-east-1/service/aws4_request` for a `yyyyMMdd` date.
    public func scope(date: String) -> String {
        "\(date)/\(region)/\(service)/aws4_request"
    }

    public func canonicalRequest(_ request: SigV4Request) -> String {
        let headers = Self.canonicalHeaders(request.headers)
        return [
            request.method.uppercased(),
            canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            headers.map(\.name).joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    public func stringToSign(canonicalRequest: String, timestamp: SigV4Timestamp) throws -> String {
        let hashed = Hex.encode(try primitives.sha256(Data(canonicalRequest.utf8)))
        return [Self.algorithm, timestamp.dateTime, scope(date: timestamp.date), hashed].joined(separator: "\n")
    }

    public func signature(stringToSign: String, date: String) throws -> String {
        Hex.encode(try primitives.hmacSHA256(try signingKey(date: date), Data(stringToSign.utf8)))
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    func signingKey(date: String) throws -> [UInt8] {
        var key = Array(("AWS4" + credentials.secretAccessKey).utf8)
        for part in [date, region, service, "aws4_request"] {
            key = try primitives.hmacSHA256(key, Data(part.utf8))
        }
        return key
    }

    /// The `Authorization` header value for a request whose headers already include `host` and
    /// `x-amz-date` (and, for S3, `x-amz-content-sha256`).
    public func authorization(for request: SigV4Request, at timestamp: SigV4Timestamp) throws -> String {
        let canonical = canonicalRequest(request)
        let signed = Self.canonicalHeaders(request.headers).map(\.name).joined(separator: ";")
        let signature = try signature(stringToSign: try stringToSign(canonicalRequest: canonical, timestamp: timestamp),
                                      date: timestamp.date)
        return "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(date: timestamp.date)), "
            + "SignedHeaders=\(signed), Signature=\(signature)"
    }

    // MARK: - Canonical forms

    func canonicalURI(_ path: String) -> String {
        let raw = normalizesPath ? Self.normalized(path) : path
        let encoded = Self.uriEncode(raw, keepSlash: true)
        return encoded.isEmpty ? "/" : encoded
    }

    /// Pairs encoded, then sorted by name and value (byte order of the encoded text).
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name, keepSlash: false), uriEncode($0.value, keepSlash: false)) }
            .sorted { lhs, rhs in
                lhs.0 == rhs.0 ? Array(lhs.1.utf8).lexicographicallyPrecedes(rhs.1.utf8)
                    : Array(lhs.0.utf8).lexicographicallyPrecedes(rhs.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lowercase names, sorted; values trimmed with inner runs of spaces collapsed; a repeated
    /// header's values joined by commas in the order given.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var merged: [String: [String]] = [:]
        for header in headers {
            let value = header.value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                .trimmingCharacters(in: .whitespaces)
            merged[header.name.lowercased(), default: []].append(value)
        }
        return merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }
            .map { (name: $0, value: merged[$0, default: []].joined(separator: ",")) }
    }

    /// RFC 3986 percent-encoding of the UTF-8 bytes: `A–Z a–z 0–9 - . _ ~` stay, `/` stays in
    /// paths, everything else becomes `%XX` with uppercase hex.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 3986 §5.2.4 dot-segment removal plus empty-segment removal, keeping a trailing slash.
    static func normalized(_ path: String) -> String {
        var segments: [Substring] = []
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        for part in parts {
            switch part {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(part)
            }
        }
        guard !segments.isEmpty else { return "/" }
        let trailing = path.hasSuffix("/") && parts.last != "." && parts.last != ".."
        return "/" + segments.joined(separator: "/") + (trailing ? "/" : "")
    }
}

/// A signing instant in SigV4's two forms: `yyyyMMdd` and `yyyyMMdd'T'HHmmss'Z'`, UTC.
public struct SigV4Timestamp: Sendable, Equatable {
    public let date: String
    public let dateTime: String

    public init(_ instant: Date) {
        var seconds = time_t(instant.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let date = String(format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        self.date = date
        self.dateTime = date + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
