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
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var files: [MigrationFile] = []
        for fileName in names where fileName.hasSuffix(".sql") {
            let stem = String(fileName.dropLast(4))
            guard let underscore = stem.firstIndex(of: "_"),
                  let version = Int(stem[..<underscore]), version > 0
            else {
                throw MigrationError.badFileName(fileName)
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(fileName), encoding: .utf8)
            files.append(MigrationFile(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        files.sort { $0.version < $1.version }
        for (earlier, later) in zip(files, files.dropFirst()) where earlier.version == later.version {
            throw MigrationError.duplicateVersion(earlier.version)
        }
        return files
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
