@testable import APIServer
import Domain
import Foundation
import Synchronization
import XCTest

/// A ranks file that reads but does not parse asks the process to stop (once) and, until it has,
/// is never passed off as an exact count.
final class DeferredTokenizerTests: XCTestCase {
    private let text = "Say hello to the deferred tokenizer, twice over."

    func testAFileThatDoesNotParseReportsOnceAndCountsAreNeverExact() {
        let reports = Mutex<[String]>([])
        let tokenizer = DeferredTokenizer(encoding: .o200kBase, ranksData: Data("not a ranks file\n".utf8)) { error in
            reports.withLock { $0.append(String(describing: error)) }
        }
        tokenizer.prepare()
        XCTAssertNil(tokenizer.exactCount(text))
        XCTAssertEqual(tokenizer.count(text), TokenUpperBound.count(text))
        XCTAssertEqual(reports.withLock { $0.count }, 1, "the failure is reported once, not on every count")

        let counted = ModelTokenCounter(tokenizers: [.o200kBase: tokenizer]).countTokens(text, provider: "openai", model: "gpt-4o-mini")
        XCTAssertEqual(counted.kind, .estimated)
        XCTAssertEqual(counted.count, TokenUpperBound.count(text))
        XCTAssertEqual(counted.countedWith, TokenUpperBound.name)
    }

    func testAFileThatParsesCountsExactly() throws {
        let path = try XCTUnwrap(ProcessInfo.processInfo.environment["TIKTOKEN_O200K_PATH"], "scripts/test.sh sets TIKTOKEN_O200K_PATH")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let tokenizer = DeferredTokenizer(encoding: .o200kBase, ranksData: data) { error in XCTFail("parsed file reported \(error)") }
        let exact = try O200kTokenizer(ranksData: data).count(text)
        XCTAssertEqual(tokenizer.exactCount(text), exact)
        let counted = ModelTokenCounter(tokenizers: [.o200kBase: tokenizer]).countTokens(text, provider: "openai", model: "gpt-4o-mini")
        XCTAssertEqual(counted.kind, .exact)
        XCTAssertEqual(counted.count, exact)
        XCTAssertLessThan(exact, TokenUpperBound.count(text), "the bound must differ from the exact count for the first test to mean anything")
    }
}
