import Crypto
import Domain
import Foundation
import Persistence
import Providers

/// The generation engine's parts, built once in the composition root.
struct GenerationComponents: Sendable {
    let store: any GenerationStore
    let blobs: any BlobStore
    let admission: GenerationAdmission
    let executor: GenerationExecutor
    let worker: GenerationWorker
    let batches: any GenerationBatchStore
    let batchAdmission: BatchAdmission
    let batchExecutor: BatchExecutor
    let leaseSeconds: Int
    /// Event streams (SSE): the open streams and their wake-ups, and the `events_url` tokens.
    let eventHub: EventStreamHub
    let eventTokens: EventStreamTokens
    /// Settlements of chat answers already sent, which that user's reads wait for.
    let settlements: SettlementsInFlight

    /// How long a provider task may stay pending (long video jobs take minutes).
    static let pollDeadlineSeconds: Double = 3600

    static func live(config: AppConfig, pool: ConnectionPool, quotes: QuoteService, router: ProviderRouter, pricing: PostgresPricingStore,
                     providers: ProviderRegistry, vault: KeyVault, queue: WorkQueue, logger: Logger,
                     keyChecks: KeyChecks) throws -> GenerationComponents {
        // How long a process holds a generation before another worker may take it over; every step renews it.
        let leaseSeconds = config.generationLeaseSeconds
        let store = PostgresGenerationStore(pool: pool, settlementGatheringSeconds: Double(config.settlementGatherMilliseconds) / 1000,
                                            roomForMoreSettlements: { queue.hasIdleHalf })
        let blobs: any BlobStore
        do {
            blobs = try config.storageBackend.makeBlobStore(storageDirectory: config.storageDirectory)
        } catch {
            throw ServerStartError("STORAGE_DIR \(config.storageDirectory): \(error)")
        }
        let ledger = LedgerReservations(ledger: PostgresBudgetLedger(pool: pool))
        // One lease owner per process: host, pid and a random part (pids repeat across containers).
        let owner = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        let keyless = KeylessProviders(catalog: { providers.catalog() })
        let finished = FinishedGenerations()
        let board = SignalBoard<UUID>()
        let settlements = SettlementsInFlight(hurry: { store.hurrySettlements() })
        let runner = GenerationRunner(
            store: store, ledger: ledger, blobs: blobs, gate: RouterAttemptGate(router: router, policy: config.healthPolicy), provider: { providers.provider($0) },
            key: { userID, claims, provider in
                keyless.contains(provider) ? nil : try vault.decryptedKey(userID: userID, claimsJSON: claims, provider: provider)
            },
            pricing: { id in try pricing.version(id: id) },
            pollDeadlineSeconds: pollDeadlineSeconds, leaseSeconds: leaseSeconds, finished: { finished.put($0) },
            streams: TextStreams(),
            admittedKey: { userID, claims, key in try vault.decryptedKey(admitted: key, userID: userID, claimsJSON: claims) },
            tokenCounter: quotes.tokenCounter,
            earlyAnswers: config.chatAnswersBeforeSettlement ? EarlyChatAnswers(finished: finished, settlements: settlements, board: board) : nil)
        let eventHub = EventStreamHub(log: PostgresGenerationEventLog(pool: pool), logger: logger,
                                      heartbeatSeconds: EventStreamHub.heartbeatSeconds(connectionTimeout: config.connectionTimeoutSeconds))
        let executor = GenerationExecutor(runner: runner, queue: queue, board: board, logger: logger, events: eventHub,
                                          finished: finished)
        // A batch's items share the batch's one project and user reservation; each holds only its
        // provider's scope while it runs.
        let batches = PostgresGenerationBatchStore(pool: pool)
        let batchExecutor = BatchExecutor(runner: runner.forBatchItems, settlement: BatchSettlement(store: store, batches: batches, ledger: ledger),
                                          queue: queue, board: executor.board, logger: logger)
        return GenerationComponents(
            store: store, blobs: blobs,
            admission: GenerationAdmission(routing: PlannedRouting(quotes: quotes), store: store, ledger: ledger,
                                           leaseOwner: owner, leaseSeconds: leaseSeconds,
                                           clearing: FirstAttemptClearing(cooldown: config.healthPolicy.cooldown,
                                                                          needsKey: { !keyless.contains($0) })),
            executor: executor,
            // Woken by NOTIFY; the 5 s timer only covers a lost LISTEN connection.
            worker: GenerationWorker(store: store, executor: executor, owner: owner, leaseSeconds: leaseSeconds, intervalSeconds: 5,
                                     listener: GenerationWorkListener(url: config.databaseURL),
                                     retest: ProviderRetest(failing: PostgresFailingProviders(pool: pool), vault: vault, checks: keyChecks,
                                                            router: router)),
            batches: batches,
            batchAdmission: BatchAdmission(routing: PlannedRouting(quotes: quotes), store: store, batches: batches, ledger: ledger,
                                           leaseOwner: owner, leaseSeconds: leaseSeconds),
            batchExecutor: batchExecutor, leaseSeconds: leaseSeconds,
            eventHub: eventHub, eventTokens: try EventStreamTokens(secret: SecretBytes(utf8: config.jwtSecret ?? "")),
            settlements: settlements)
    }
}
