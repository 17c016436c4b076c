import Foundation

/// One `migrations/NNN_name.sql` file.
public struct MigrationFile: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Reads every `NNN_name.sql` in `directory`, ordered by version. Other files are ignored;
    /// two files with the same version are an error, because their order would be ambiguous.
    public static func load(from directory: URL) throws -> [MigrationFile] {
        let folder = directory.path
        var files: [MigrationFile] = []
        for fileName in try fileNames(in: folder) where fileName.hasSuffix(".sql") {
            let stem = String(fileName.dropLast(4))
            guard let underscore = stem.firstIndex(of: "_"),
                  let version = Int(stem[..<underscore]), version > 0
            else {
                throw MigrationError.badFileName(fileName)
            }
            let sql = try text(of: folder + "/" + fileName)
            files.append(MigrationFile(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        files.sort { $0.version < $1.version }
        for (earlier, later) in zip(files, files.dropFirst()) where earlier.version == later.version {
            throw MigrationError.duplicateVersion(earlier.version)
        }
        return files
    }

    // The server reads these files at every start: with plain POSIX calls, Foundation's directory
    // listing and file reading stayed resident for it (BENCHMARKS.md, "Footprint"). Anything
    // unusual (an unreadable folder, a byte-order mark, bytes that are not UTF-8) goes through
    // Foundation as before, so errors and decoding are unchanged.

    /// The names in the folder, as `contentsOfDirectory(atPath:)` lists them.
    private static func fileNames(in folder: String) throws -> [String] {
        guard let stream = opendir(folder) else { return try FileManager.default.contentsOfDirectory(atPath: folder) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The file's text as `String(contentsOf:encoding: .utf8)` reads it.
    private static func text(of path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8) }
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        guard !bytes.starts(with: [0xEF, 0xBB, 0xBF]), let text = String(validating: bytes, as: UTF8.self) else {
            return try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        }
        return text
    }
}

public enum MigrationError: Error, CustomStringConvertible, Sendable {
    case badFileName(String)
    case duplicateVersion(Int)
    case checksumMismatch(version: Int, name: String)
    case unknownAppliedVersion(Int)
    case failed(version: Int, name: String, underlying: DatabaseError)

    public var description: String {
        switch self {
        case .badFileName(let name):
            return "migration file \(name) is not named NNN_name.sql"
        case .duplicateVersion(let version):
            return "two migration files have version \(version)"
        case .checksumMismatch(let version, let name):
            return "migration \(version)_\(name).sql was changed after it was applied; "
                + "applied migrations must never be edited: restore the file and add a new migration instead"
        case .unknownAppliedVersion(let version):
            return "the database has migration \(version) applied, but no such file exists in the migrations folder"
        case .failed(let version, let name, let underlying):
            return "migration \(version)_\(name).sql failed and was rolled back: \(underlying.debugDescription)"
        }
    }
}
