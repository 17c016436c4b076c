import Crypto
import Domain
import Foundation
import Persistence
import Providers

/// The composition root: the one place that builds live adapters and hands them to handlers.
struct ServerEnvironment: Sendable {
    let config: AppConfig
    let logger: Logger
    let metrics: Metrics
    let pool: ConnectionPool
    let migrations: MigrationRunner
    let auth: AuthService
    let authenticator: Authenticator
    let providers: ProviderRegistry
    let pricing: any PricingStore
    let projects: ProjectService
    let quotes: QuoteService
    /// Admissions' routing reads kept for reuse; forgotten after every API request that may change them.
    let recentQuoteReads: RecentQuoteReads
    /// The provider-key vault and the keys under it (derived on first use; `serve` forces it at start-up).
    let vault: KeyVault
    let vaultKeys: VaultKeySource
    let vaultMaintenance: PostgresVaultMaintenance
    /// Threads for provider calls, so none runs on an HTTP thread; key checks run here.
    let providerWork: WorkQueue
    let keyChecks: KeyChecks
    /// Exact counts for the encodings whose ranks are configured, upper bounds otherwise.
    let tokenCounter: ModelTokenCounter
    /// Issue #14's router: provider configurations, and the planner, health and rate state the engine uses.
    let providerConfigs: ProviderConfigService
    let router: ProviderRouter
    /// Generations: admission, the executor on `providerWork`, storage and the worker loop.
    let generations: GenerationComponents
    /// The asset library (issue #17): rows, the same blob store, its work queue and URL signer.
    let assets: AssetComponents
    /// `openapi.yaml` and its reference page, read at start-up and served as they are.
    let documents: APIDocuments

    /// `stop` is how a failure found while serving stops the process in order (`ShutdownSignal`):
    /// called with the exit status, from whichever thread found it.
    static func live(config: AppConfig, logger: Logger, stop: @escaping @Sendable (Int32) -> Void = { _ in }) throws -> ServerEnvironment {
        let directory = URL(fileURLWithPath: config.migrationsDirectory)
        let documents = try APIDocuments.load(specificationPath: config.openAPIPath, referencePath: config.apiDocsPath)
        if !documents.referenceMatchesSpecification {
            logger.warn("docs/api.html was generated from another openapi.yaml; /docs is out of date",
                        ["fix": .string("python3 scripts/build-api-docs.py"), "path": .string(config.apiDocsPath)])
        }
        let pool = ConnectionPool(.init(url: config.databaseURL, maximumConnections: config.databasePoolSize,
                                        acquireTimeout: Double(config.databasePoolTimeoutMilliseconds) / 1000))
        let signer = try JWTSigner(secret: SecretBytes(utf8: config.jwtSecret ?? ""))
        let auth = try AuthService(
            store: PostgresAuthStore(pool: pool), hasher: BcryptPasswordHasher(cost: config.bcryptCost),
            tokens: JWTAccessTokenIssuer(signer: signer, issuer: config.jwtIssuer, lifetime: TimeInterval(config.jwtLifetimeSeconds)),
            refreshTokens: RandomRefreshTokens(secret: SecretBytes(utf8: config.jwtSecret ?? "")),
            rules: AuthRules(minimumPasswordLength: config.passwordMinimumLength),
            refreshReuseInterval: TimeInterval(config.refreshTokenReuseIntervalSeconds))
        let projects = ProjectService(store: PostgresProjectStore(pool: pool, maximumProjectsPerUser: config.projectsPerUser))
        let pricing = PostgresPricingStore(pool: pool)
        let providerLogger = ProviderLogger(minimumLevel: Self.providerLogLevel(logger.minimumLevel)) { record in
            logger.log(Logger.Level(name: record.level.rawValue) ?? .info, "provider " + record.event,
                       fields: record.fields.mapValues(LogValue.string).merging(["provider": .string(record.provider?.rawValue ?? "")]) { $1 })
        }
        let providers = ProviderRegistry.standard(
            endpoints: config.providerEndpoints,
            context: AdapterContext(client: CurlClient(configuration: HTTPClientConfiguration(maxTransfersInFlight: config.providerMaxInFlight)),
                           logger: providerLogger, priceList: PriceListCache(store: pricing).current))
        let providerWork = WorkQueue(name: "provider", threads: config.providerThreads, queueLimit: config.providerQueueLimit)
        let metrics = Metrics()
        metrics.watch(providerWork)
        let tokenCounter = ModelTokenCounter(tokenizers: try FileTokenRanks.loadTokenizers(config: config) { reason in
            // As a start-up failure: the process stops rather than count with a wrong vocabulary.
            logger.error("start-up failed: a tokenizer ranks file does not parse", ["error": .string(reason)])
            stop(1)
        })
        let maintenance = PostgresVaultMaintenance(pool: pool)
        let vaultKeys = Self.vaultKeySource(config: config, maintenance: maintenance)
        let vault = KeyVault(store: PostgresApiKeyStore(pool: pool, maximumKeysPerUser: config.apiKeysPerUser), sealer: CryptoApiKeySealer(keys: vaultKeys))
        let providerConfigStore = PostgresProviderConfigStore(pool: pool)
        let ledger = PostgresBudgetLedger(pool: pool)
        let router = ProviderRouter(
            configs: providerConfigStore, health: PostgresProviderHealthStore(pool: pool, policy: config.healthPolicy), rates: PostgresRateLimitStore(pool: pool),
            catalog: { providers.catalog() },
            usableKeys: { identity in Set(try vault.list(identity).filter { $0.status != .invalid }.map(\.provider)) },
            providerBudgetRemaining: { identity in try ledger.providerScopes(claimsJSON: identity.claimsJSON).compactMapValues(\.remaining) },
            unlistedModel: { provider, model, kind in providers.capability(of: provider, for: model, kind: kind) },
            reads: { [routingReads = PostgresRoutingReads(pool: pool)] identity in try routingReads.reads(for: identity) })
        let recentQuoteReads = RecentQuoteReads(maximumAgeMilliseconds: config.admissionReadReuseMilliseconds)
        let quoteReads = PostgresRoutingReads(pool: pool, recent: recentQuoteReads)
        let quotes = QuoteService(read: { project, identity, reusing in
                                      try quoteReads.recentQuoteReads(project: project, as: identity, renew: !reusing)
                                  },
                                  pricing: pricing, catalog: { providers.catalog() },
                                  tokenCounter: tokenCounter,
                                  route: { request, reads, catalog in router.plan(request, reads: reads, catalog: catalog, at: Date()) },
                                  unlistedModel: { provider, model, kind in providers.capability(of: provider, for: model, kind: kind) })
        let keyChecks = KeyChecks(queue: providerWork, endpoints: config.providerEndpoints,
                                  timeoutMilliseconds: config.keyCheckTimeoutMilliseconds, perUser: config.keyChecksPerUser,
                                  logger: providerLogger)
        let generations = try GenerationComponents.live(config: config, pool: pool, quotes: quotes, router: router, pricing: pricing, providers: providers,
                                                        vault: vault, queue: providerWork, logger: logger, keyChecks: keyChecks)
        return ServerEnvironment(
            config: config, logger: logger, metrics: metrics, pool: pool,
            migrations: try MigrationRunner(directory: directory), auth: auth,
            authenticator: Authenticator(signer: signer, audience: "authenticated", auth: auth, settlements: generations.settlements),
            providers: providers,
            pricing: pricing,
            projects: projects,
            quotes: quotes,
            recentQuoteReads: recentQuoteReads,
            vault: vault,
            vaultKeys: vaultKeys, vaultMaintenance: maintenance,
            providerWork: providerWork,
            keyChecks: keyChecks,
            tokenCounter: tokenCounter,
            providerConfigs: ProviderConfigService(store: providerConfigStore, catalog: { providers.catalog() },
                                                   usage: { identity in try ledger.providerScopes(claimsJSON: identity.claimsJSON) }),
            router: router,
            generations: generations,
            assets: try AssetComponents.live(config: config, pool: pool, blobs: generations.blobs, metrics: metrics, logger: logger),
            documents: documents)
    }

    /// The provider layer's level for the server's own: it builds no record the log would drop.
    static func providerLogLevel(_ level: Logger.Level) -> ProviderLogRecord.Level {
        switch level {
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        }
    }

    /// The key-encryption keys: scrypt over the secret(s) with the deployment's salt, which the
    /// first process to start stores (with the scrypt parameters) and every later one reads back.
    static func vaultKeySource(config: AppConfig, maintenance: PostgresVaultMaintenance) -> VaultKeySource {
        VaultKeySource {
            guard let secret = config.encryptionSecret else { throw VaultConfigurationError.noSecret }
            let proposedSalt = Data(try SecureRandom.bytes(count: Scrypt.recommendedSaltByteCount))
            let stored = try maintenance.settings(proposingSalt: proposedSalt, parameters: config.encryptionScryptParameters.description)
            guard let parameters = ScryptParameters(stored.parameters) else {
                throw VaultConfigurationError.badStoredParameters(stored.parameters)
            }
            return try VaultKeyMaterial.derive(secret: secret, previous: config.encryptionSecretPrevious,
                                               salt: stored.salt, parameters: parameters)
        }
    }

    /// The client address for rate limits: the socket's, or the last hop of the trusted proxy
    /// header when the peer is one of the trusted proxies (the hop our own proxy appended, which a
    /// client cannot forge). From any other peer the header is the client's own word and ignored.
    func clientAddress(_ request: HTTPRequest) -> String {
        if let name = config.trustedProxyHeader, let value = request.header(name),
           config.trustedProxyRanges.contains(where: { $0.contains(request.socketAddress) }),
           let last = value.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty {
            return last
        }
        return request.socketAddress
    }

    /// `CORS_ALLOWED_ORIGINS`, plus any loopback origin in development only.
    var corsPolicy: CORSPolicy {
        CORSPolicy(allowedOrigins: Set(config.corsAllowedOrigins), allowsLoopbackOrigins: config.environment == .development)
    }

    /// Builds the server over the route table (tests may pass a table of their own).
    func makeServer(routes: [Route]? = nil) -> HTTPServer {
        let application = Application(router: Router(routes ?? makeRoutes(self)), cors: corsPolicy,
                                      logger: logger, metrics: metrics, maximumBodyBytes: config.maximumBodyBytes,
                                      afterWrite: { [recentQuoteReads] in recentQuoteReads.forgetAll() })
        return HTTPServer(application: application, limits: .init(
            threads: config.httpThreads, connectionTimeoutSeconds: config.connectionTimeoutSeconds,
            maximumConnections: config.maximumConnections, maximumConnectionsPerIP: config.maximumConnectionsPerIP,
            connectionMemoryBytes: config.maximumHeaderBytes, maximumBodyBytes: config.maximumBodyBytes))
    }
}
