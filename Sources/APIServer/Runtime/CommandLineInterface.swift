import Crypto
import Domain
import Foundation
import Persistence
import Providers

/// `apiserver serve | worker | migrate | --help | --version`. Returns the process exit status.
enum CommandLineInterface {
    static let version = "0.1.0"

    static let usage = """
        apiserver \(version): the media workspace API server

        usage: apiserver <command>

        commands:
          serve       run the HTTP API (configuration from the environment; see .env.example)
          worker      run background work only: claims queued generations and those whose process died
                      (expired lease) and runs them; stops on SIGTERM
          migrate     apply pending migrations from MIGRATIONS_DIR (default ./migrations), once each; then load
                      PRICING_CATALOG (default ./pricing/catalog.json) when no pricing version exists yet;
                      refuses to start (exit 1) when that file is missing or invalid
          pricing import [--replace] FILE
                      store FILE (our catalog format, or LiteLLM's model_prices_and_context_window.json
                      unmodified) as the new current pricing version and report, per model, each field
                      used and skipped and what changed; a LiteLLM file updates the models it names and
                      keeps every other row unless --replace is given
          rotate-encryption-key [--batch-size=N]
                      re-encrypt every stored provider key under APP_ENCRYPTION_SECRET, opening old ones with
                      APP_ENCRYPTION_SECRET_PREVIOUS; batches of N (default 100), each its own transaction, so
                      it can be stopped and run again; exits 1 if any key could not be opened
          storage gc [--delete]
                      report stored blobs that no asset names (left by a crash between a blob's write and its
                      row's commit) and assets whose blob is missing; --delete removes the orphan blobs (each
                      re-checked under its lock); exits 1 when anything was found and not deleted. Blobs of the
                      shared layout from before migration 120 are first moved to their owners' keys
          --help      show this text
          --version   print the version

        exit status: 0 on success and on a graceful stop, 1 on a runtime failure, 2 on bad configuration or usage.
        """

    static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
        switch arguments.first {
        case "serve":
            return withConfig(environment, requireSecrets: true) { serve($0) }
        case "worker":
            return withConfig(environment, requireSecrets: true) { worker($0) }
        case "migrate":
            return withConfig(environment, requireSecrets: false) { migrate($0) }
        case "pricing":
            let replace = arguments.count == 4 && arguments[2] == "--replace"
            guard arguments.count == (replace ? 4 : 3), arguments[1] == "import" else {
                printError("apiserver: usage: apiserver pricing import [--replace] FILE")
                return 2
            }
            return withConfig(environment, requireSecrets: false) {
                importPricing($0, file: arguments[arguments.count - 1], replace: replace)
            }
        case "rotate-encryption-key":
            return withConfig(environment, requireSecrets: false) { rotateEncryptionKey($0, options: Array(arguments.dropFirst())) }
        case "storage":
            let delete = arguments.count == 3 && arguments[2] == "--delete"
            guard arguments.count == (delete ? 3 : 2), arguments[1] == "gc" else {
                printError("apiserver: usage: apiserver storage gc [--delete]")
                return 2
            }
            return withConfig(environment, requireSecrets: true) { storageGC($0, delete: delete) }
        case "--help", "-h", "help":
            print(usage)
            return 0
        case "--version":
            print("apiserver \(version)")
            return 0
        case let other:
            printError("apiserver: " + (other.map { "unknown command \"\($0)\"" } ?? "a command is required") + "\n\n" + usage)
            return 2
        }
    }

    private static func withConfig(_ environment: [String: String], requireSecrets: Bool, _ body: (AppConfig) -> Int32) -> Int32 {
        switch AppConfig.load(from: environment, requireSecrets: requireSecrets) {
        case .success(let config):
            return body(config)
        case .failure(let error):
            printError("apiserver: \(error)")
            return 2
        }
    }

    private static func serve(_ config: AppConfig) -> Int32 {
        let logger = Logger(minimumLevel: config.logLevel)
        let signals = ShutdownSignal()
        LibPQDefaults.apply()
        FileDescriptorLimit.prepare(for: config, logger: logger)
        let environment: ServerEnvironment
        do {
            environment = try ServerEnvironment.live(config: config, logger: logger, stop: signals.stop(status:))
        } catch {
            logger.error("start-up failed", ["error": .string(String(describing: error))])
            return 1
        }
        moveLegacyBlobs(environment, logger: logger)
        // One database connection opened while the listener starts, so the first `/readyz` (and
        // request) finds it in the pool instead of waiting for a connect. A failure here is only
        // logged by whoever next needs the database.
        let pool = environment.pool
        Thread { try? pool.withConnection { _ in } }.start()
        let server = environment.makeServer()
        do {
            try server.start(host: config.host, port: config.port)
        } catch {
            logger.error("start-up failed", ["error": .string(String(describing: error))])
            return 1
        }
        logger.info("listening", ["url": .string("http://\(config.host):\(server.port)"), "env": .string(config.environment.rawValue),
                                  "threads": .int(config.httpThreads)])
        // Derive the vault keys now, beside serving: scrypt is slow on purpose (~0.1 s), and only
        // requests that touch stored provider keys need it (they wait for it under the source's
        // lock); everything else, readiness included, answers at once. At a lower priority (on
        // Linux a thread's nice value is its own), so on a busy machine the derivation does not take
        // the core the first requests and `/readyz` need.
        // The password hash that sign-ins with an unknown email are checked against is made here
        // too, for the same reason (a bcrypt hash was most of the start-up time).
        let vaultKeys = environment.vaultKeys
        let auth = environment.auth
        Thread {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            auth.prepare()
            do {
                _ = try vaultKeys.material()
            } catch {
                logger.warn("provider-key vault not ready yet; will retry on first use", ["error": .string(String(describing: error))])
            }
        }.start()
        // The tokenizer ranks are parsed beside serving as well (DeferredTokenizer), at the same
        // lower priority, so on a busy machine the parse does not delay `/readyz`; a count that needs
        // one before then parses it itself or waits for it.
        let tokenizers = environment.tokenCounter.tokenizers.values.compactMap { $0 as? DeferredTokenizer }
        if !tokenizers.isEmpty {
            Thread {
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
                tokenizers.forEach { $0.prepare() }
            }.start()
        }
        // Generations whose process died (or that found the queue full) are taken over here too.
        environment.generations.worker.start()
        let status = signals.wait()
        logger.info("shutting down", ["grace_seconds": .int(config.shutdownGraceSeconds),
                                      "in_flight": .int(environment.metrics.inFlight.load(ordering: .relaxed)),
                                      "exit_status": .int(Int(status))])
        // Generations running here (a provider answering) finish within the grace; a step due
        // from now on is handed to other processes with nothing sent.
        environment.generations.worker.stopClaiming()
        environment.generations.executor.beginStopping()
        let deadline = Date().addingTimeInterval(TimeInterval(config.shutdownGraceSeconds))
        let unfinished = server.stop(grace: TimeInterval(config.shutdownGraceSeconds))
        let running = environment.generations.executor.stop(until: deadline)
        environment.pool.close()
        // The round trips to PostgreSQL over the process's life (scripts/bench-generations.sh reads it).
        logger.info("stopped", ["unfinished_requests": .int(unfinished), "unfinished_generation_steps": .int(running),
                                "database_round_trips": .int(DatabaseRoundTrips.count)])
        return status
    }

    /// Blobs of the shared layout move to their owners' keys before the first request (see
    /// `LegacyBlobMove`); a failure is logged and start-up goes on (`storage gc` moves them too).
    private static func moveLegacyBlobs(_ environment: ServerEnvironment, logger: Logger) {
        do {
            let report = try LegacyBlobMove(store: environment.assets.store, blobs: environment.assets.blobs).run()
            if report.waitingForMigration {
                logger.warn("legacy blobs not moved: migration 120 is not applied yet")
            } else if report.deletedLegacy > 0 {
                logger.info("legacy blobs moved to per-user keys", ["copied": .int(report.copied), "legacy_removed": .int(report.deletedLegacy),
                                                                    "unrecoverable": .int(report.unrecoverable.count)])
            }
        } catch {
            logger.warn("legacy blobs not moved", ["error": .string(String(reflecting: error))])
        }
    }

    private static func storageGC(_ config: AppConfig, delete: Bool) -> Int32 {
        let logger = Logger(minimumLevel: .warn)
        do {
            let environment = try ServerEnvironment.live(config: config, logger: logger)
            defer { environment.pool.close() }
            let moved = try LegacyBlobMove(store: environment.assets.store, blobs: environment.assets.blobs).run()
            if moved.waitingForMigration { print("storage gc: legacy blobs left alone: run `apiserver migrate` first (migration 120)") }
            if moved.deletedLegacy > 0 { print("storage gc: moved to per-user keys: \(moved.copied) copied, \(moved.deletedLegacy) legacy blobs removed") }
            let report = try StorageSweep(store: environment.assets.store, blobs: environment.assets.blobs).run(delete: delete)
            for key in report.orphanBlobs { print("orphan blob (no asset names it)\(report.deleted.contains(key) ? ", deleted" : ""): \(key)") }
            for key in report.missingBlobs { print("missing blob (an asset names it): \(key)") }
            print("storage gc: \(report.orphanBlobs.count) orphan blobs (\(report.deleted.count) deleted), \(report.missingBlobs.count) missing blobs")
            let left = report.orphanBlobs.count - report.deleted.count + report.missingBlobs.count
            return left == 0 ? 0 : 1
        } catch {
            printError("apiserver: storage gc failed: \(error)")
            return 1
        }
    }

    private static func worker(_ config: AppConfig) -> Int32 {
        let logger = Logger(minimumLevel: config.logLevel)
        let signals = ShutdownSignal()
        LibPQDefaults.apply()
        FileDescriptorLimit.prepare(for: config, logger: logger)
        let environment: ServerEnvironment
        do {
            environment = try ServerEnvironment.live(config: config, logger: logger, stop: signals.stop(status:))
            try environment.pool.withConnection { try $0.query("select 1") }
        } catch {
            logger.error("worker cannot start", ["error": .string(String(describing: error))])
            return 1
        }
        logger.info("worker started", ["job_kinds": .int(1)])
        environment.generations.worker.start()
        let status = signals.wait()
        environment.pool.close()
        logger.info("worker stopped", ["exit_status": .int(Int(status))])
        return status
    }

    private static func migrate(_ config: AppConfig) -> Int32 {
        let logger = Logger(minimumLevel: config.logLevel)
        // The catalog is checked before anything is applied: a deployment without its prices
        // would quote every model as unpriced, so a missing file stops migrate instead of
        // being skipped.
        let catalog: PricingImport.Parsed
        do {
            catalog = try PricingImport.load(file: URL(fileURLWithPath: config.pricingCatalogPath))
        } catch {
            let detail = (error as? DomainError).map { Problem(domain: $0).detail } ?? String(describing: error)
            logger.error("migrate refused: pricing catalog unusable", ["path": .string(config.pricingCatalogPath), "error": .string(detail)])
            printError("apiserver: migrate refused: \(detail)")
            return 1
        }
        do {
            let runner = try MigrationRunner(directory: URL(fileURLWithPath: config.migrationsDirectory))
            // One connection serves the migrations and the first pricing import.
            let pool = ConnectionPool(.init(url: config.migrationDatabaseURL, maximumConnections: 1))
            defer { pool.close() }
            let applied = try pool.withConnection { try runner.migrate(using: $0) { logger.info($0) } }
            logger.info("migrations complete", ["applied": .int(applied.count), "known": .int(runner.files.count)])
            let store = PostgresPricingStore(pool: pool)
            if try store.currentVersion() == nil {
                let report = try PricingImport(store: store).importParsed(catalog, replace: false)
                report.lines.forEach { logger.info($0) }
            }
            return 0
        } catch let error as DatabaseError {
            logger.error("migrate failed", ["error": .string(error.debugDescription)])
            return 1
        } catch {
            logger.error("migrate failed", ["error": .string(String(describing: error))])
            return 1
        }
    }

    private static func importPricing(_ config: AppConfig, file: String, replace: Bool) -> Int32 {
        let pool = ConnectionPool(.init(url: config.migrationDatabaseURL, maximumConnections: 1))
        defer { pool.close() }
        do {
            let report = try PricingImport(store: PostgresPricingStore(pool: pool)).run(file: URL(fileURLWithPath: file), replace: replace)
            report.lines.forEach { print($0) }
            return 0
        } catch let error as DomainError {
            printError("apiserver: pricing import refused: \(Problem(domain: error).detail)")
            return 1
        } catch {
            printError("apiserver: pricing import failed: \(String(reflecting: error))")
            return 1
        }
    }

    private static func rotateEncryptionKey(_ config: AppConfig, options: [String]) -> Int32 {
        let logger = Logger(minimumLevel: config.logLevel)
        var batchSize = 100
        for option in options {
            guard option.hasPrefix("--batch-size="), let size = Int(option.dropFirst("--batch-size=".count)), (1...10_000).contains(size) else {
                printError("apiserver: unknown option \"\(option)\" (rotate-encryption-key takes --batch-size=1...10000)")
                return 2
            }
            batchSize = size
        }
        guard let secret = config.encryptionSecret, secret.utf8.count >= 32 else {
            printError("apiserver: APP_ENCRYPTION_SECRET (the new secret, at least 32 characters) is required")
            return 2
        }
        guard config.encryptionSecretPrevious != nil else {
            printError("apiserver: APP_ENCRYPTION_SECRET_PREVIOUS (the secret being replaced) is required")
            return 2
        }
        let pool = ConnectionPool(.init(url: config.databaseURL, maximumConnections: 2))
        defer { pool.close() }
        let maintenance = PostgresVaultMaintenance(pool: pool)
        let rotation = KeyRotation(store: maintenance, sealer: CryptoApiKeySealer(
            keys: ServerEnvironment.vaultKeySource(config: config, maintenance: maintenance)))
        do {
            let report = try rotation.run(batchSize: batchSize)
            let fields: [String: LogValue] = ["rotated": .int(report.rotated), "already_current": .int(report.alreadyCurrent),
                                              "failed": .int(report.failed)]
            if report.failed > 0 {
                logger.log(.error, "rotation finished with keys that open under neither secret; they were left as they were", fields: fields)
                return 1
            }
            logger.log(.info, "rotation complete", fields: fields)
            return 0
        } catch {
            logger.error("rotation failed; run it again to continue", ["error": .string(String(describing: error))])
            return 1
        }
    }

    private static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
