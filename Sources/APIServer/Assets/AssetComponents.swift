import Crypto
import Domain
import Foundation
import Persistence

/// What the asset routes share: the row store, the blob store, the work queue for finishing
/// uploads and making thumbnails, the media tools, the upload limits, the storage quota and the URL signer.
struct AssetComponents: Sendable {
    let store: any AssetStore
    let blobs: any BlobStore
    let queue: WorkQueue
    let tools: MediaTools
    let limits: UploadLimits
    let storage: StorageQuotaGate
    let signer: AssetURLSigner
    let logger: Logger

    static func live(config: AppConfig, pool: ConnectionPool, blobs: any BlobStore, metrics: Metrics, logger: Logger) throws -> AssetComponents {
        let queue = WorkQueue(name: "assets", threads: 2, queueLimit: 64)
        metrics.watch(queue)
        let store = PostgresAssetStore(pool: pool)
        return AssetComponents(
            store: store, blobs: blobs, queue: queue, tools: MediaTools.locate(), limits: config.assetUploadLimits,
            storage: StorageQuotaGate(quota: config.storageQuota, store: store),
            signer: try AssetURLSigner(secret: SecretBytes(utf8: config.jwtSecret ?? "")), logger: logger)
    }
}

