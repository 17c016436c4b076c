import Crypto
import Domain
import Foundation
import Persistence
import Providers

/// Configuration read from the environment only. Every problem is collected, so one start-up
/// message lists them all; the process then exits with status 2.
struct AppConfig: Sendable {
    enum Environment: String, Sendable {
        case development, test, production
    }

    var environment: Environment
    var databaseURL: String
    var host: String
    var port: Int
    var httpThreads: Int
    var connectionTimeoutSeconds: Int
    var maximumConnections: Int
    var maximumConnectionsPerIP: Int
    var maximumHeaderBytes: Int
    var maximumBodyBytes: Int
    var corsAllowedOrigins: [String]
    var databasePoolSize: Int
    var databasePoolTimeoutMilliseconds: Int
    var shutdownGraceSeconds: Int
    var migrationsDirectory: String
    var logLevel: Logger.Level
    var jwtSecret: String?
    var encryptionSecret: String?
    /// Set only during a key rotation: the secret being replaced, still able to open old keys.
    var encryptionSecretPrevious: String?
    /// Recorded beside the salt when the vault is first set up; later starts use the recorded ones.
    var encryptionScryptParameters: ScryptParameters
    var migrationDatabaseURL: String
    var jwtLifetimeSeconds: Int
    var jwtIssuer: String
    var passwordMinimumLength: Int
    var bcryptCost: Int
    var trustedProxyHeader: String?
    /// Peers whose `trustedProxyHeader` is believed; empty means the header is never used.
    var trustedProxyRanges: [AddressRange]
    /// The provider work queue: its threads, and the jobs that may wait for one (then 503 busy).
    var providerThreads: Int
    var providerQueueLimit: Int
    /// Provider transfers in flight at once on the multi loop (`CurlMultiLoop`); beyond it calls wait, suspended.
    var providerMaxInFlight: Int
    /// `POST /v1/api-keys/{id}/test`: the whole check's time limit and how many one user may run at once.
    var keyCheckTimeoutMilliseconds: Int
    var keyChecksPerUser: Int
    /// Event streams (`GET /v1/events`, `GET /v1/generations/{id}/events`) one user may hold open at once.
    var eventStreamsPerUser: Int
    /// How long an admission may reuse an earlier admission's routing reads of the same project and
    /// token (`RecentQuoteReads`); 0: every admission reads.
    var admissionReadReuseMilliseconds: Int
    /// Whether a chat completion is answered once its cost is known, while its settlement is
    /// written (`EarlyChatAnswers`), rather than after that write commits.
    var chatAnswersBeforeSettlement: Bool
    /// How long the settlement of an answer already sent may wait for others of its project, to be
    /// written in one transaction with them (`GroupCommit`'s gathering); 0: written at once.
    var settlementGatherMilliseconds: Int
    /// Requests per client address per 5 minutes to `/auth/v1/token` and to sign-up (GoTrue's
    /// limiter). Production and tests keep GoTrue's numbers; development is generous, so a local
    /// front end or a contract run reaches the logic behind them.
    var authTokenRequestsPer5Minutes: Int
    var authSignupRequestsPer5Minutes: Int
    var refreshTokenReuseIntervalSeconds: Int
    var providerEndpoints: ProviderEndpoints
    var pricingCatalogPath: String
    var tokenizerRanksPath: String?
    var o200kRanksPath: String?
    /// Where generation outputs are stored (the local-files BlobStore).
    var storageDirectory: String
    /// Local files under `storageDirectory`, or an S3 bucket (StorageBackend.swift).
    var storageBackend: StorageBackend = .local
    /// How long a process holds a generation without renewing before a worker may take it over.
    var generationLeaseSeconds: Int
    /// When a provider's circuit opens (consecutive retryable failures) and how long it stays open.
    var healthPolicy: HealthPolicy = .standard
    /// The contract served at `/openapi.yaml` and its generated reference page at `/docs`.
    var openAPIPath: String
    var apiDocsPath: String
    /// `POST /v1/assets`: the largest upload per kind (ASSET_MAX_*_BYTES).
    var assetUploadLimits: UploadLimits = .standard
    /// The bytes of assets one user may keep (STORAGE_QUOTA_BYTES; 0: no quota).
    var storageQuota = StorageQuota(bytes: AppConfig.standardStorageQuotaBytes)
    static let standardStorageQuotaBytes: Int64 = 10 << 30
    /// Projects one user may create (PROJECTS_PER_USER) and provider keys one may store (API_KEYS_PER_USER).
    var projectsPerUser = AppConfig.standardProjectsPerUser
    var apiKeysPerUser = AppConfig.standardApiKeysPerUser
    static let standardProjectsPerUser = 1000
    static let standardApiKeysPerUser = 100
    /// When set (METRICS_TOKEN), `/metrics` answers only `Authorization: Bearer <it>`.
    var metricsToken: String?

    /// The variables this reads, with their defaults; `.env.example` documents the same list.
    static let variableNames = [
        "APP_ENV", "DATABASE_URL", "HOST", "PORT", "HTTP_THREADS", "HTTP_CONNECTION_TIMEOUT_SECONDS",
        "HTTP_MAX_CONNECTIONS", "HTTP_MAX_CONNECTIONS_PER_IP", "HTTP_MAX_HEADER_BYTES", "HTTP_MAX_BODY_BYTES",
        "CORS_ALLOWED_ORIGINS", "DB_POOL_SIZE", "DB_POOL_TIMEOUT_MS", "SHUTDOWN_GRACE_SECONDS", "MIGRATIONS_DIR",
        "LOG_LEVEL", "JWT_SECRET", "APP_ENCRYPTION_SECRET", "MIGRATION_DATABASE_URL", "JWT_EXPIRY_SECONDS", "JWT_ISSUER",
        "PASSWORD_MIN_LENGTH", "BCRYPT_COST", "TRUSTED_PROXY_HEADER", "REFRESH_TOKEN_REUSE_INTERVAL_SECONDS", "PRICING_CATALOG", "TIKTOKEN_CL100K_PATH",
        "TIKTOKEN_O200K_PATH",
        "APP_ENCRYPTION_SECRET_PREVIOUS", "APP_ENCRYPTION_SCRYPT_N",
        "TRUSTED_PROXY_CIDRS", "PROVIDER_THREADS", "PROVIDER_QUEUE_LIMIT", "PROVIDER_MAX_IN_FLIGHT", "KEY_CHECK_TIMEOUT_MS", "KEY_CHECKS_PER_USER",
        "EVENT_STREAMS_PER_USER",
        "ADMISSION_READ_REUSE_MS", "CHAT_ANSWER_BEFORE_SETTLEMENT", "SETTLEMENT_GATHER_MS", "STORAGE_DIR", "GENERATION_LEASE_SECONDS",
        "PROVIDER_CIRCUIT_FAILURES", "PROVIDER_CIRCUIT_COOLDOWN_SECONDS",
        "OPENAPI_PATH", "API_DOCS_PATH",
        "ASSET_MAX_IMAGE_BYTES", "ASSET_MAX_AUDIO_BYTES", "ASSET_MAX_VIDEO_BYTES", "ASSET_MAX_TEXT_BYTES", "STORAGE_QUOTA_BYTES",
        "PROJECTS_PER_USER", "API_KEYS_PER_USER", "METRICS_TOKEN",
        "AUTH_TOKEN_RATE_LIMIT", "AUTH_SIGNUP_RATE_LIMIT",
    ] + StorageBackend.variableNames

    /// 32 threads a core, at least 64 and at most 256. A handler blocks its thread on PostgreSQL
    /// (an admission also waits for the commit of its project's group) and a connection keeps the
    /// thread that accepted it, so with few threads the clients that share one take turns, and
    /// fewer admissions meet in a group. 64 threads served 64 chat connections 1.03–1.45× as fast
    /// as 16 on 2 cores, with a lower p99 every time (BENCHMARKS.md, run Q).
    static func defaultHTTPThreads(cores: Int) -> Int {
        max(64, min(cores, 8) * 32)
    }

    /// `requireSecrets` is false for `migrate`, which needs only the database.
    static func load(from env: [String: String], requireSecrets: Bool = true) -> Result<AppConfig, ConfigError> {
        var reader = EnvironmentReader(env)
        let environment = reader.choice("APP_ENV", default: Environment.production) { Environment(rawValue: $0) }
        let databaseURL = reader.databaseURL("DATABASE_URL", default: nil)
        let migrationDatabaseURL = reader.databaseURL("MIGRATION_DATABASE_URL", default: databaseURL)
        let host = reader.string("HOST", default: "127.0.0.1") { inet_pton_ok($0) ? nil : "must be an IPv4 address such as 127.0.0.1 or 0.0.0.0" }
        let port = reader.integer("PORT", default: 8080, range: 0...65535)
        let cores = max(1, ProcessorCount.active)
        var scryptParameters = ScryptParameters.default
        if let text = reader.optionalString("APP_ENCRYPTION_SCRYPT_N") {
            if environment == .production {
                reader.problems.append("APP_ENCRYPTION_SCRYPT_N is for development and tests only; production uses the default cost")
            } else if let n = UInt64(text), n >= 2, n & (n - 1) == 0,
                      let parameters = try? ScryptParameters(n: n, r: 8, p: 1, length: 32) {
                scryptParameters = parameters
            } else {
                reader.problems.append("APP_ENCRYPTION_SCRYPT_N must be a power of two from 2 to \(ScryptParameters.maximumN) (got \"\(text)\")")
            }
        }
        let (storageBackend, storageProblems) = StorageBackend.load(from: env, requireHTTPS: environment == .production)
        reader.problems += storageProblems
        let config = AppConfig(
            environment: environment,
            databaseURL: databaseURL,
            host: host,
            port: port,
            // libmicrohttpd binds a connection to the worker thread that accepted it, for the
            // connection's life, and handlers block that thread on PostgreSQL: two busy clients on one
            // thread take turns while a core idles. Many more threads than cores make such pairs rare;
            // an idle thread costs about 15 KiB of resident memory (BENCHMARKS.md, "Reads").
            httpThreads: reader.integer("HTTP_THREADS", default: AppConfig.defaultHTTPThreads(cores: cores), range: 1...256),
            connectionTimeoutSeconds: reader.integer("HTTP_CONNECTION_TIMEOUT_SECONDS", default: 30, range: 1...3600),
            maximumConnections: reader.integer("HTTP_MAX_CONNECTIONS", default: 1024, range: 1...100_000),
            maximumConnectionsPerIP: reader.integer("HTTP_MAX_CONNECTIONS_PER_IP", default: 256, range: 1...100_000),
            // libmicrohttpd zeroes this whole per-connection area before every request, so its size
            // is paid on each one (32 KiB cost 4 % of a small request's CPU); 16 KiB is Node's limit.
            maximumHeaderBytes: reader.integer("HTTP_MAX_HEADER_BYTES", default: 16 * 1024, range: 4096...1_048_576),
            maximumBodyBytes: reader.integer("HTTP_MAX_BODY_BYTES", default: 1_048_576, range: 1...1_073_741_824),
            corsAllowedOrigins: reader.list("CORS_ALLOWED_ORIGINS") { origin in
                origin == "*" || ((origin.hasPrefix("http://") || origin.hasPrefix("https://")) && !origin.hasSuffix("/"))
                    ? nil : "each origin must be * or scheme://host[:port] without a trailing slash"
            },
            databasePoolSize: reader.integer("DB_POOL_SIZE", default: 10, range: 1...500),
            databasePoolTimeoutMilliseconds: reader.integer("DB_POOL_TIMEOUT_MS", default: 2000, range: 1...600_000),
            shutdownGraceSeconds: reader.integer("SHUTDOWN_GRACE_SECONDS", default: 10, range: 0...3600),
            migrationsDirectory: reader.string("MIGRATIONS_DIR", default: "migrations") { _ in nil },
            logLevel: reader.choice("LOG_LEVEL", default: Logger.Level.info) { Logger.Level(name: $0) },
            jwtSecret: reader.secret("JWT_SECRET", requiredStrong: requireSecrets && environment == .production),
            encryptionSecret: reader.secret("APP_ENCRYPTION_SECRET", requiredStrong: requireSecrets && environment == .production),
            // Optional, but when set it is checked exactly as APP_ENCRYPTION_SECRET is (here and below).
            encryptionSecretPrevious: reader.secret("APP_ENCRYPTION_SECRET_PREVIOUS", requiredStrong: false,
                                                    strongWhenPresent: requireSecrets && environment == .production),
            encryptionScryptParameters: scryptParameters,
            migrationDatabaseURL: migrationDatabaseURL,
            // At most a day: `/v1/*` trusts an access token until it expires, even after sign-out.
            jwtLifetimeSeconds: reader.integer("JWT_EXPIRY_SECONDS", default: 3600, range: 30...86_400),
            // Bounded and free of characters JSON escapes, so the metadata limit (computed for the
            // longest issuer) holds for every token (JWTAccessTokenIssuer.userMetadataBudget).
            jwtIssuer: reader.string("JWT_ISSUER", default: "http://\(host):\(port)/auth/v1") { issuer in
                issuer.utf8.count <= JWTAccessTokenIssuer.maximumIssuerBytes
                    && issuer.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0 != "\"" && $0 != "\\" && $0.value != 0x7f })
                    ? nil : "must be at most \(JWTAccessTokenIssuer.maximumIssuerBytes) bytes without quotes, backslashes or control characters"
            },
            passwordMinimumLength: reader.integer("PASSWORD_MIN_LENGTH", default: 8, range: 6...72),
            bcryptCost: reader.integer("BCRYPT_COST", default: 10, range: 4...15),
            trustedProxyHeader: reader.optionalString("TRUSTED_PROXY_HEADER")?.lowercased(),
            trustedProxyRanges: reader.list("TRUSTED_PROXY_CIDRS") { AddressRange($0) == nil
                ? "is not an IPv4 or IPv6 address or CIDR range (such as 10.0.0.0/8 or fd00::/8)" : nil }
                .compactMap(AddressRange.init),
            // Provider calls mostly wait on the network, so threads are cheap next to the calls they hold.
            providerThreads: reader.integer("PROVIDER_THREADS", default: 16, range: 1...256),
            providerQueueLimit: reader.integer("PROVIDER_QUEUE_LIMIT", default: 64, range: 0...10_000),
            // Each transfer holds a socket: the cap stays well inside a usual file-descriptor limit.
            providerMaxInFlight: reader.integer("PROVIDER_MAX_IN_FLIGHT", default: 4096, range: 1...16_384),
            keyCheckTimeoutMilliseconds: reader.integer("KEY_CHECK_TIMEOUT_MS", default: 10_000, range: 100...10_000),
            keyChecksPerUser: reader.integer("KEY_CHECKS_PER_USER", default: 2, range: 1...32),
            eventStreamsPerUser: reader.integer("EVENT_STREAMS_PER_USER", default: 32, range: 1...10_000),
            admissionReadReuseMilliseconds: reader.integer("ADMISSION_READ_REUSE_MS", default: 1_000,
                                                           range: 0...RecentQuoteReads.maximumAgeLimitMilliseconds),
            chatAnswersBeforeSettlement: reader.choice("CHAT_ANSWER_BEFORE_SETTLEMENT", default: true) { ["on": true, "off": false][$0] },
            settlementGatherMilliseconds: reader.integer("SETTLEMENT_GATHER_MS", default: 10, range: 0...100),
            authTokenRequestsPer5Minutes: reader.integer("AUTH_TOKEN_RATE_LIMIT",
                                                         default: environment == .development ? 10_000 : 150, range: 1...1_000_000),
            authSignupRequestsPer5Minutes: reader.integer("AUTH_SIGNUP_RATE_LIMIT",
                                                          default: environment == .development ? 10_000 : 30, range: 1...1_000_000),
            refreshTokenReuseIntervalSeconds: reader.integer("REFRESH_TOKEN_REUSE_INTERVAL_SECONDS", default: 10, range: 0...3600),
            providerEndpoints: reader.providerEndpoints(requireHTTPS: environment == .production),
            pricingCatalogPath: reader.string("PRICING_CATALOG", default: "pricing/catalog.json") { _ in nil },
            tokenizerRanksPath: reader.optionalString("TIKTOKEN_CL100K_PATH"),
            o200kRanksPath: reader.optionalString("TIKTOKEN_O200K_PATH"),
            storageDirectory: reader.string("STORAGE_DIR", default: "./data/storage") { $0.isEmpty ? "must not be empty" : nil },
            storageBackend: storageBackend,
            generationLeaseSeconds: reader.integer("GENERATION_LEASE_SECONDS", default: 300, range: 5...3600),
            healthPolicy: HealthPolicy(
                failureThreshold: reader.integer("PROVIDER_CIRCUIT_FAILURES", default: HealthPolicy.standard.failureThreshold, range: 1...100),
                cooldown: TimeInterval(reader.integer("PROVIDER_CIRCUIT_COOLDOWN_SECONDS",
                                                      default: Int(HealthPolicy.standard.cooldown), range: 1...3600)),
                latencyWeight: HealthPolicy.standard.latencyWeight),
            openAPIPath: reader.string("OPENAPI_PATH", default: "openapi.yaml") { _ in nil },
            apiDocsPath: reader.string("API_DOCS_PATH", default: "docs/api.html") { _ in nil },
            assetUploadLimits: UploadLimits(
                image: Int64(reader.integer("ASSET_MAX_IMAGE_BYTES", default: Int(UploadLimits.standard.image), range: 1...(1 << 40))),
                audio: Int64(reader.integer("ASSET_MAX_AUDIO_BYTES", default: Int(UploadLimits.standard.audio), range: 1...(1 << 40))),
                video: Int64(reader.integer("ASSET_MAX_VIDEO_BYTES", default: Int(UploadLimits.standard.video), range: 1...(1 << 40))),
                text: Int64(reader.integer("ASSET_MAX_TEXT_BYTES", default: Int(UploadLimits.standard.text), range: 1...(1 << 40)))),
            storageQuota: StorageQuota(bytes: reader.storageQuota()),
            projectsPerUser: reader.integer("PROJECTS_PER_USER", default: AppConfig.standardProjectsPerUser, range: 1...1_000_000),
            apiKeysPerUser: reader.integer("API_KEYS_PER_USER", default: AppConfig.standardApiKeysPerUser, range: 1...10_000),
            metricsToken: reader.secret("METRICS_TOKEN", requiredStrong: false, strongWhenPresent: true)
        )
        // Access tokens cannot be signed or checked without the secret, in any environment.
        if requireSecrets, config.jwtSecret == nil, environment != .production {
            reader.problems.append("JWT_SECRET is required (at least 32 characters; scripts/run.sh generates one for development)")
        } else if requireSecrets, let secret = config.jwtSecret, secret.utf8.count < 32, environment != .production {
            reader.problems.append("JWT_SECRET must be at least 32 characters")
        }
        // Stored provider keys cannot be sealed or opened without it, in any environment.
        if requireSecrets, config.encryptionSecret == nil, environment != .production {
            reader.problems.append("APP_ENCRYPTION_SECRET is required (at least 32 characters; scripts/run.sh generates one for development)")
        } else if requireSecrets, let secret = config.encryptionSecret, secret.utf8.count < 32, environment != .production {
            reader.problems.append("APP_ENCRYPTION_SECRET must be at least 32 characters")
        }
        if requireSecrets, let previous = config.encryptionSecretPrevious, previous.utf8.count < 32, environment != .production {
            reader.problems.append("APP_ENCRYPTION_SECRET_PREVIOUS must be at least 32 characters")
        }
        if reader.problems.isEmpty { return .success(config) }
        return .failure(ConfigError(problems: reader.problems))
    }
}

struct ConfigError: Error, CustomStringConvertible {
    let problems: [String]

    /// Every message passes through `redactingCredentials`, whichever check wrote it.
    init(problems: [String]) {
        self.problems = problems.map(redactingCredentials)
    }

    var description: String {
        "invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0)" }.joined(separator: "\n")
            + "\nSee .env.example for every variable and its default."
    }
}

/// libpq accepts a URI or a key=value string; a URI must also have a port libpq can use.
private func postgresURLProblem(_ value: String) -> String? {
    let lowered = value.lowercased()
    guard lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") else {
        return value.containsBytes(of: "://") || !value.containsBytes(of: "=") ? "must be a postgresql:// URL or a libpq key=value string" : nil
    }
    let afterScheme = value[value.index(value.startIndex, offsetBy: lowered.hasPrefix("postgres://") ? 11 : 13)...]
    let authority = afterScheme.prefix { $0 != "/" && $0 != "?" }
    let hostPart = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority[...]
    // Several hosts may be listed (host1:5432,host2:5433); an IPv6 address is bracketed.
    for host in hostPart.split(separator: ",") {
        guard let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") else { continue }
        let port = host[host.index(after: colon)...]
        guard !port.isEmpty else { continue }
        guard port.allSatisfy(\.isASCII), let number = Int(port), (1...65535).contains(number) else {
            return "has a port that is not a number from 1 to 65535"
        }
    }
    return nil
}

/// `scheme://user:password@host` becomes `scheme://user:***@host`, and `password=...` (a libpq
/// key=value string or a URI parameter) becomes `password=***`: configuration messages name the
/// URL an operator got wrong without printing its credentials.
func redactingCredentials(_ text: String) -> String {
    var result = ""
    var rest = Substring(text)
    while let separator = rest.range(of: "://") {
        result += rest[..<separator.upperBound]
        rest = rest[separator.upperBound...]
        // The authority ends at white space or a quote; its user information at its last "@".
        let end = rest.firstIndex { $0.isWhitespace || $0 == "\"" || $0 == "'" } ?? rest.endIndex
        if let at = rest[..<end].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
            result += rest[...colon] + "***"
            rest = rest[at...]
        }
    }
    result += rest
    return redactingPasswordParameters(result)
}

private func redactingPasswordParameters(_ text: String) -> String {
    guard let expression = try? NSRegularExpression(pattern: #"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&"']+)"#) else { return text }
    return expression.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1***")
}

private func inet_pton_ok(_ host: String) -> Bool {
    var address = in_addr()
    return inet_pton(AF_INET, host, &address) == 1
}

/// Reads variables and records a sentence for each that is wrong, never its value for secrets.
private struct EnvironmentReader {
    let env: [String: String]
    var problems: [String] = []

    init(_ env: [String: String]) { self.env = env }

    private func value(_ name: String) -> String? {
        guard let raw = env[name]?.trimmingWhitespaces, !raw.isEmpty else { return nil }
        return raw
    }

    /// A libpq connection string: required without a default; a bad one is named with its
    /// credentials masked (`redactingCredentials`).
    mutating func databaseURL(_ name: String, default fallback: String?) -> String {
        guard let value = value(name) else {
            if fallback == nil { problems.append("\(name) is required") }
            return fallback ?? ""
        }
        if let problem = postgresURLProblem(value) { problems.append("\(name) \(problem) (got \"\(redactingCredentials(value))\")") }
        return value
    }

    mutating func string(_ name: String, default fallback: String, _ check: (String) -> String?) -> String {
        guard let value = value(name) else { return fallback }
        if let problem = check(value) { problems.append("\(name) \(problem) (got \"\(value)\")") }
        return value
    }

    /// Provider base URLs (OPENAI_BASE_URL and the rest); each bad one is one problem. In
    /// production plain http is refused, loopback included: provider keys travel in these requests.
    mutating func providerEndpoints(requireHTTPS: Bool) -> ProviderEndpoints {
        if requireHTTPS {
            for variable in ProviderEndpoints.variables where value(variable.name)?.lowercased().hasPrefix("http://") == true {
                problems.append("\(variable.name) must be an https URL in production (plain http would carry provider keys in clear text)")
            }
        }
        do {
            return try ProviderEndpoints.fromEnvironment(env)
        } catch {
            problems.append(contentsOf: error.problems)
            return .defaults
        }
    }

    mutating func optionalString(_ name: String) -> String? {
        value(name)
    }

    mutating func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
        guard let text = value(name) else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            problems.append("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound) (got \"\(text)\")")
            return fallback
        }
        return number
    }

    /// STORAGE_QUOTA_BYTES, at most a pebibyte; 0 turns the quota off.
    mutating func storageQuota() -> Int64? {
        let bytes = integer("STORAGE_QUOTA_BYTES", default: Int(AppConfig.standardStorageQuotaBytes), range: 0...(1 << 50))
        return bytes == 0 ? nil : Int64(bytes)
    }

    mutating func choice<T>(_ name: String, default fallback: T, _ parse: (String) -> T?) -> T {
        guard let text = value(name) else { return fallback }
        guard let parsed = parse(text) else {
            problems.append("\(name) has an unknown value \"\(text)\"")
            return fallback
        }
        return parsed
    }

    mutating func list(_ name: String, _ check: (String) -> String?) -> [String] {
        guard let text = value(name) else { return [] }
        let items = text.split(separator: ",").map(\.trimmingWhitespaces).filter { !$0.isEmpty }
        for item in items {
            if let problem = check(item) { problems.append("\(name): \"\(item)\" — \(problem)") }
        }
        return items
    }

    /// Secrets: in production they must exist and be strong; their values never appear in messages.
    /// `strongWhenPresent` checks an optional one's strength only when it is set.
    mutating func secret(_ name: String, requiredStrong: Bool, strongWhenPresent: Bool = false) -> String? {
        guard let text = value(name) else {
            if requiredStrong { problems.append("\(name) is required in production (at least 32 random characters)") }
            return nil
        }
        if requiredStrong || strongWhenPresent, let weakness = Self.weakness(of: text) {
            problems.append("\(name) is too weak: \(weakness)")
        }
        return text
    }

    static func weakness(of secret: String) -> String? {
        if secret.utf8.count < 32 { return "it must be at least 32 characters" }
        if Set(secret).count < 8 { return "it repeats too few distinct characters" }
        let lowered = secret.lowercased()
        for placeholder in ["changeme", "change-me", "secret", "password", "example", "your-"] where lowered.contains(placeholder) {
            return "it looks like a placeholder (contains \"\(placeholder)\")"
        }
        return nil
    }
}
