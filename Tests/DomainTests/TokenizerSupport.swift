import Foundation
import XCTest
@testable import Domain

/// Where the token tests find their data: `TIKTOKEN_CL100K_PATH` (the ranks file printed by
/// scripts/fetch-token-ranks.sh) and `TOKEN_CORPUS_JSON` (written by scripts/compare-tokens.py).
/// Without them the tests skip, except under `CI`, where a skipped comparison would be a
/// silent gap, so they fail.
enum TokenTestEnvironment {
    static func value(_ name: String) throws -> String {
        if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        let message = "\(name) is not set; run scripts/test-tokens.sh (it fetches the ranks, writes the corpus and sets both variables)."
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail(message)
            throw XCTSkip("failed: " + message)
        }
        throw XCTSkip(message)
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
