import Domain
import Foundation

/// `apiserver storage gc`: after a crash between a blob's write and its row's commit (or a lost
/// delete), blobs without rows and rows without blobs. Reports both; with `delete`, removes the
/// orphan blobs (each re-checked under its key's lock, so an upload committing meanwhile keeps it).
/// Rows without blobs are only reported: their metadata may still matter to the user.
struct StorageSweep {
    struct Report: Equatable {
        var orphanBlobs: [String]
        var missingBlobs: [String]
        var deleted: [String]
    }

    let store: any AssetStore
    let blobs: any BlobStore

    func run(delete: Bool) throws -> Report {
        let referenced = try store.referencedKeys()
        let stored = Set(try blobs.keys())
        var report = Report(orphanBlobs: stored.subtracting(referenced).sorted(), missingBlobs: [], deleted: [])
        for key in referenced.sorted() where try !blobs.exists(key) { report.missingBlobs.append(key) }
        if delete {
            for key in report.orphanBlobs where try store.deleteIfUnreferenced(key, deleteBlob: { try blobs.delete($0) }) {
                report.deleted.append(key)
            }
        }
        return report
    }
}

/// Removes a deleted account's blobs (keys are per user, so no other account's content is among them).
struct AccountBlobRemoval: Sendable {
    let components: AssetComponents

    /// Runs `deletion` (which removes the user's rows), then the blobs those rows named and any
    /// other blob under the user's keys (an upload's blob whose row a crash never wrote).
    func deleting(_ user: UUID, _ deletion: () throws -> Void) throws {
        let named = try components.store.keysOnlyNamed(byUser: user)
        try deletion()
        let blobs = components.blobs
        var keys = Set(named)
        do {
            keys.formUnion(try blobs.keys(owner: user))
        } catch {
            components.logger.warn("blobs of a deleted account not listed", ["error": .string(String(reflecting: error))])
        }
        for key in keys.sorted() {
            do {
                try components.store.deleteIfUnreferenced(key, deleteBlob: { try blobs.delete($0) })
            } catch {
                // The account is gone either way; `storage gc` reports what is left.
                components.logger.warn("blob of a deleted account not removed", ["key": .string(key), "error": .string(String(reflecting: error))])
            }
        }
    }
}
