import Foundation

extension SHA256 {
    /// The SHA-256 of a file's bytes, read in 1 MiB chunks so a large file is never held whole
    /// in memory (object-store keys are the content's hash, computed before the upload).
    public static func hash(fileAt path: String) throws -> [UInt8] {
        let digest = try SHA256Stream()
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            try chunk.withUnsafeBytes { try digest.update($0) }
        }
        return try digest.finish()
    }
}
