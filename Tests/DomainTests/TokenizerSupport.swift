import Foundation
@testable import Domain
import XCTest

/// Where the token tests find their data: `TIKTOKEN_CL100K_PATH` and `TIKTOKEN_O200K_PATH`
/// (the ranks files printed by scripts/fetch-token-ranks.sh, without and with `--o200k`) and
/// `TOKEN_CORPUS_JSON`, `TOKEN_CORPUS_O200K_JSON` (written by scripts/compare-tokens.py).
/// scripts/test.sh and scripts/test-tokens.sh set them all; a run without them fails, never skips,
/// because a skipped comparison would be a silent gap in the suite.
enum TokenTestEnvironment {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw Missing(description: "\(name) is not set; run scripts/test.sh or scripts/test-tokens.sh "
                + "(they fetch the ranks, write the corpora and set the variables).")
        }
        guard FileManager.default.isReadableFile(atPath: value) else {
            throw Missing(description: "\(name) names \(value), which is not a readable file.")
        }
        return value
    }

    /// Loaded once per test process: building the table takes a noticeable fraction of a second.
    /// The tests read the file themselves: Domain takes the bytes, never a path.
    static func tokenizer() throws -> Cl100kTokenizer {
        let path = try value("TIKTOKEN_CL100K_PATH")
        return try cl100kCache.withLock { cached in
            if let cached { return cached }
            let loaded = try Cl100kTokenizer(ranksData: try Data(contentsOf: URL(fileURLWithPath: path)))
            cached = loaded
            return loaded
        }
    }

    static func o200k() throws -> O200kTokenizer {
        let path = try value("TIKTOKEN_O200K_PATH")
        return try o200kCache.withLock { cached in
            if let cached { return cached }
            let loaded = try O200kTokenizer(ranksData: try Data(contentsOf: URL(fileURLWithPath: path)))
            cached = loaded
            return loaded
        }
    }

    /// The corpus tiktoken wrote for one encoding.
    static func corpus(_ encoding: TokenEncoding) throws -> TokenCorpus {
        let path = try value(encoding == .cl100kBase ? "TOKEN_CORPUS_JSON" : "TOKEN_CORPUS_O200K_JSON")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let corpus = try decoder.decode(TokenCorpus.self, from: try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(corpus.encoding, encoding.rawValue)
        return corpus
    }

    private static let cl100kCache = LockedBox<Cl100kTokenizer?>(nil)
    private static let o200kCache = LockedBox<O200kTokenizer?>(nil)
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
