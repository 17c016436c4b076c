import Foundation

/// The per-generation (or per-upload) scratch folders under `root/scratch`, as both blob stores
/// keep them: the local store under its own root, the S3 store under the server's storage folder.
struct ScratchFolders: Sendable {
    let root: URL

    func path(for generation: UUID) -> String {
        root.appendingPathComponent("scratch").appendingPathComponent(generation.lowercasedString).path
    }

    func create(for generation: UUID) throws -> String {
        let path = path(for: generation)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func delete(for generation: UUID) throws {
        let path = path(for: generation)
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }
}
