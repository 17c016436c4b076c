import Foundation

/// What a rotation run did.
public struct RotationReport: Sendable, Equatable, Codable {
    /// Rows rewritten under the current key by this run.
    public var rotated = 0
    /// Rows that were already on the current key when the run started.
    public var alreadyCurrent = 0
    /// Rows that opened under no held key (tampered, copied, or sealed by an unknown secret);
    /// left untouched so nothing is lost.
    public var failed = 0
    /// false when the run stopped at its batch limit with rows still to do.
    public var finished = false

    public init() {}
}

/// Re-encrypts every stored key under the current key version, in batches that each commit on
/// their own: a crash loses at most the batch in flight (which rolls back and still opens under
/// the previous key), and running again continues with whatever is not yet current.
public struct KeyRotation: Sendable {
    let store: any ApiKeyRotationStore
    let sealer: any ApiKeySealer

    public init(store: any ApiKeyRotationStore, sealer: any ApiKeySealer) {
        self.store = store
        self.sealer = sealer
    }

    /// `maximumBatches` stops early (tests use it to interrupt a run half-way).
    public func run(batchSize: Int = 100, maximumBatches: Int? = nil) throws -> RotationReport {
        precondition(batchSize > 0, "batch size must be positive")
        let target = try sealer.currentKeyVersion()
        var report = RotationReport()
        report.alreadyCurrent = try store.count(onKeyVersion: target)
        var refused: [UUID] = []
        var batches = 0
        while maximumBatches.map({ batches < $0 }) ?? true {
            let result = try store.rotateBatch(to: target, limit: batchSize, skipping: refused) { row in
                try? reseal(row)
            }
            batches += 1
            report.rotated += result.rotated
            refused += result.refused
            if result.rotated + result.refused.count == 0 {
                report.finished = true
                break
            }
        }
        report.failed = refused.count
        return report
    }

    private func reseal(_ row: SealedApiKey) throws -> ResealedApiKey {
        let binding = ApiKeyBinding(userID: row.userID, keyID: row.id, provider: row.provider)
        let key = try sealer.open(row.ciphertext, binding: binding)
        let sealed = try sealer.seal(key, binding: binding)
        guard let fingerprint = try sealer.fingerprints(of: key, provider: row.provider).first else {
            throw KeyVaultError.unopenable(keyID: row.id)
        }
        return ResealedApiKey(ciphertext: sealed.ciphertext, keyVersion: sealed.keyVersion, fingerprint: fingerprint)
    }
}
