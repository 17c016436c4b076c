import Foundation
@testable import Domain

/// Where the token tests find their data: `TIKTOKEN_CL100K_PATH` (the ranks file printed by
/// scripts/fetch-token-ranks.sh) and `TOKEN_CORPUS_JSON` (written by scripts/compare-tokens.py).
/// scripts/test.sh and scripts/test-tokens.sh set both; a run without them fails, never skips,
/// because a skipped comparison would be a silent gap in the suite.
enum TokenTestEnvironment {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Missing(description: "\(name) is not set; run scripts/test.sh or scripts/test-tokens.sh "
                + "(they fetch the ranks, write the corpus and set both variables).")
        }
        guard FileManager.default.isReadableFile(atPath: value) else {
            throw Missing(description: "\(name) names \(value), which is not a readable file.")
        }
        return value
    }

    /// Loaded once per test process: building the table takes a noticeable fraction of a second.
    static func tokenizer() throws -> Cl100kTokenizer {
        let path = try value("TIKTOKEN_CL100K_PATH")
        return try cache.withLock { cached in
            if let cached { return cached }
            let loaded = try Cl100kTokenizer(ranksFileAt: path)
            cached = loaded
            return loaded
        }
    }

    private static let cache = LockedBox<Cl100kTokenizer?>(nil)
}

/// A tiny lock so the shared tokenizer can be cached without unsafe globals.
final class LockedBox<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

struct TokenCorpus: Decodable {
    struct Case: Decodable {
        var text: String
        var count: Int
        var tokens: [Int]
    }

    var encoding: String
    var tiktokenVersion: String
    var ranksSha256: String
    var cases: [Case]
}
