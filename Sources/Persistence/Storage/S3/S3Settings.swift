import Foundation

/// How the bucket appears in a request: `https://endpoint/bucket/key` (path style, what MinIO
/// and most S3-compatible servers expect) or `https://bucket.endpoint/key` (virtual-host style,
/// AWS's preferred form).
public enum S3Addressing: String, Sendable {
    case path, virtual
}

/// Where and how to reach the bucket. Built only through `validated`, so every value the store
/// uses is in range; the secret never appears in a description or a problem message.
public struct S3Settings: Sendable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int?
    public let region: String
    public let bucket: String
    public let credentials: SigV4Credentials
    public let addressing: S3Addressing
    /// Files up to this size go up in one PUT; larger ones in a multipart upload.
    public var singlePutLimit: Int64 = 16 << 20
    /// Multipart part size (S3: at least 5 MiB except the last part, at most 10,000 parts; the
    /// store grows the part size for a file that would need more).
    public var partSize: Int = 8 << 20
    /// Attempts per request when the service answers 5xx or SlowDown or the connection fails.
    public var maxAttempts: Int = 4
    /// The first retry waits this long, doubling up to `maxBackoffSeconds`.
    public var initialBackoffSeconds: Double = 0.2
    public var maxBackoffSeconds: Double = 5
    public var connectTimeoutSeconds: Int = 10
    /// One request's whole time limit (a 64 MiB part on a slow link needs minutes).
    public var requestTimeoutSeconds: Int = 600
    /// Keys per ListObjectsV2 page (S3's maximum is 1,000).
    public var listPageSize: Int = 1000
    /// `read(_:)` returns the whole object in memory; objects above this are refused there.
    public var maxInMemoryReadBytes: Int64 = 256 << 20

    public static let partSizeRange = (5 << 20)...(512 << 20)
    public static let singlePutLimitRange: ClosedRange<Int64> = 1...(5 << 30)

    /// The tunables brought into S3's limits and sane bounds, whatever code set them to.
    var clamped: S3Settings {
        var copy = self
        copy.singlePutLimit = min(max(singlePutLimit, Self.singlePutLimitRange.lowerBound), Self.singlePutLimitRange.upperBound)
        copy.partSize = min(max(partSize, Self.partSizeRange.lowerBound), Self.partSizeRange.upperBound)
        copy.maxAttempts = min(max(maxAttempts, 1), 10)
        copy.initialBackoffSeconds = min(max(initialBackoffSeconds, 0), 10)
        copy.maxBackoffSeconds = min(max(maxBackoffSeconds, copy.initialBackoffSeconds), 60)
        copy.connectTimeoutSeconds = min(max(connectTimeoutSeconds, 1), 300)
        copy.requestTimeoutSeconds = min(max(requestTimeoutSeconds, 1), 24 * 3600)
        copy.listPageSize = min(max(listPageSize, 1), 1000)
        copy.maxInMemoryReadBytes = min(max(maxInMemoryReadBytes, 0), 4 << 30)
        return copy
    }

    public var description: String {
        "S3Settings(\(scheme)://\(authority), region: \(region), bucket: \(bucket), addressing: \(addressing.rawValue), "
            + "accessKeyID: \(credentials.accessKeyID), secretAccessKey: ***)"
    }

    /// `host[:port]` as the Host header carries it (the port only when not the scheme's default).
    var authority: String {
        guard let port else { return host }
        return (scheme == "https" && port == 443) || (scheme == "http" && port == 80) ? host : "\(host):\(port)"
    }

    /// Every problem with the values, each a sentence naming the variable; empty when usable.
    /// `requireHTTPS` refuses plain http (production: stored files would travel in clear text).
    public static func validated(endpoint: String, region: String, bucket: String, accessKeyID: String,
                                 secretAccessKey: String, addressing: String,
                                 requireHTTPS: Bool) -> Result<S3Settings, S3SettingsError> {
        var problems: [String] = []
        var scheme = "https", host = "", port: Int?
        if let components = URLComponents(string: endpoint), let parsedScheme = components.scheme?.lowercased(),
           ["http", "https"].contains(parsedScheme), let parsedHost = components.host, !parsedHost.isEmpty,
           components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
           components.path.isEmpty || components.path == "/", endpoint.utf8.count <= 2048,
           parsedHost.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "-.".unicodeScalars.contains($0)) }) {
            scheme = parsedScheme
            host = parsedHost.lowercased()
            port = components.port
            if let port, !(1...65535).contains(port) { problems.append("S3_ENDPOINT has a port outside 1-65535") }
            if requireHTTPS && scheme == "http" {
                problems.append("S3_ENDPOINT must be an https URL in production (plain http would carry stored files in clear text)")
            }
        } else {
            problems.append("S3_ENDPOINT must be an http(s) URL with a host name or IPv4 address and no path, query or credentials, such as https://s3.eu-west-1.amazonaws.com (got \"\(endpoint.prefix(200))\")")
        }
        if !(1...64).contains(region.utf8.count) || !region.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) {
            problems.append("S3_REGION must be 1-64 lowercase letters, digits or hyphens, such as us-east-1 (got \"\(region.prefix(80))\")")
        }
        if let problem = bucketProblem(bucket) {
            problems.append("S3_BUCKET \(problem) (got \"\(bucket.prefix(80))\")")
        }
        let parsedAddressing = S3Addressing(rawValue: addressing)
        if parsedAddressing == nil {
            problems.append("S3_ADDRESSING must be path or virtual (got \"\(addressing.prefix(40))\")")
        } else if parsedAddressing == .virtual, scheme == "https", bucket.contains(".") {
            problems.append("S3_ADDRESSING=virtual needs a bucket name without dots over https (the certificate covers one label); use path")
        } else if parsedAddressing == .virtual, host.allSatisfy({ $0.isNumber || $0 == "." }) {
            problems.append("S3_ADDRESSING=virtual needs a host name, not an IP address, in S3_ENDPOINT; use path")
        }
        // Access key ids are letters and digits at AWS; S3-compatible servers allow more, but the
        // id sits inside `Credential=<id>/<scope>`, so separators and white space are refused.
        if !(1...128).contains(accessKeyID.utf8.count)
            || !accessKeyID.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f && !"/,=".unicodeScalars.contains($0) }) {
            problems.append("S3_ACCESS_KEY_ID must be 1-128 visible ASCII characters without '/', ',' or '='")
        }
        if !(1...256).contains(secretAccessKey.utf8.count)
            || !secretAccessKey.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) {
            problems.append("S3_SECRET_ACCESS_KEY must be 1-256 visible ASCII characters (its value is not shown)")
        }
        guard problems.isEmpty, let parsedAddressing else { return .failure(S3SettingsError(problems: problems)) }
        return .success(S3Settings(scheme: scheme, host: host, port: port, region: region, bucket: bucket,
                                   credentials: SigV4Credentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey),
                                   addressing: parsedAddressing))
    }

    private init(scheme: String, host: String, port: Int?, region: String, bucket: String,
                 credentials: SigV4Credentials, addressing: S3Addressing) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.region = region
        self.bucket = bucket
        self.credentials = credentials
        self.addressing = addressing
    }

    /// S3's bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
    static func bucketProblem(_ bucket: String) -> String? {
        let scalars = Array(bucket.unicodeScalars)
        guard (3...63).contains(scalars.count) else { return "must be 3-63 characters" }
        let allowed = scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
        guard allowed else { return "may hold only lowercase letters, digits, '.' and '-'" }
        guard let first = scalars.first, let last = scalars.last,
              first != "." && first != "-" && last != "." && last != "-" else { return "must begin and end with a letter or digit" }
        if bucket.contains("..") { return "must not contain two adjacent periods" }
        let labels = bucket.split(separator: ".")
        if labels.count == 4, labels.allSatisfy({ UInt8($0) != nil }) { return "must not be formatted as an IP address" }
        return nil
    }
}

public struct S3SettingsError: Error, Equatable, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "; ") }
}
