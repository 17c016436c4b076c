import Dispatch
import Domain

/// Removes the blobs a deleted project's assets named, each only where no remaining asset names
/// it (the same bytes kept in another of the user's projects share its key). Runs after the
/// delete has committed and off the HTTP thread: a project can hold many assets, and with S3
/// each removal is an outbound call. A removal cut short (a crash, a stop) leaves orphan blobs,
/// which `apiserver storage gc --delete` removes.
struct ProjectBlobRemoval: Sendable {
    let components: AssetComponents
    /// One for the process: removals run one project at a time, in the order of the deletes.
    private static let queue = DispatchQueue(label: "project-blob-removal", qos: .utility)

    /// Returns once every removal asked for before it has run.
    static func waitForRemovals() {
        queue.sync {}
    }

    func remove(_ keys: [String]) {
        guard !keys.isEmpty else { return }
        let components = components
        Self.queue.async {
            for key in keys.sorted() {
                do {
                    try components.store.deleteIfUnreferenced(key, deleteBlob: { try components.blobs.delete($0) })
                } catch {
                    components.logger.warn("blob of a deleted project not removed", ["key": .string(key), "error": .string(String(reflecting: error))])
                }
            }
        }
    }
}
