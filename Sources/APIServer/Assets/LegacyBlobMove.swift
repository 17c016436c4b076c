import Domain
import Foundation

/// The one-time move of blobs from the shared layout (`sha256/ab/cd/<hex>`, one blob for every
/// user's identical content) to the per-user one (`users/<id>/sha256/…`, migration 120).
///
/// Migration 120 rewrites the rows; this moves the bytes: each per-user key a row names that is
/// missing is copied from the legacy blob with the same hash (a hard link locally, a server-side
/// copy on S3), and once every row's blob is in place the legacy blobs are deleted. It runs at
/// server start-up (before listening) and at the start of `apiserver storage gc`, so gc never sees
/// a legacy blob a row still needs. Moving once beats reading both layouts forever: a shared
/// legacy blob would keep two users' content tied together (deleting one user's asset would have
/// to ask about the other's rows again), which is what the per-user layout removes.
///
/// Idempotent and cheap when there is nothing to move (one directory check or one S3 listing).
/// Refuses to delete anything while a row still names a legacy key (migration 120 not applied).
struct LegacyBlobMove {
    struct Report: Equatable {
        var copied: Int = 0
        var deletedLegacy: Int = 0
        /// Per-user keys whose legacy blob is missing too (reported by `storage gc` as missing).
        var unrecoverable: [String] = []
        /// Rows still name legacy keys: migration 120 has not run, nothing was touched.
        var waitingForMigration = false
    }

    let store: any AssetStore
    let blobs: any BlobStore

    func run() throws -> Report {
        var report = Report()
        let legacy = Set(try blobs.legacyKeys())
        guard !legacy.isEmpty else { return report }
        let referenced = try store.referencedKeys()
        if referenced.contains(where: { BlobKey.parseLegacy($0) != nil }) {
            report.waitingForMigration = true
            return report
        }
        for key in referenced.sorted() {
            guard let (owner, hex) = BlobKey.parse(key), try !blobs.exists(key) else { continue }
            let source = BlobKey.legacy(hex: hex)
            if legacy.contains(source), try blobs.copyLegacy(source, to: owner) == key {
                report.copied += 1
            } else {
                report.unrecoverable.append(key)
            }
        }
        // Every row's bytes are in their owner's place (or were lost before): nothing needs a legacy blob.
        for key in legacy.sorted() {
            try blobs.delete(key)
            report.deletedLegacy += 1
        }
        return report
    }
}
