import Domain
import Foundation
import Synchronization

/// A configured encoding's tokenizer whose ranks file was read at start-up but is parsed later:
/// by `serve` on a thread of its own once it listens, or by the first count that needs it,
/// whichever comes first (the other waits). Parsing both files and building their tables took
/// ~0.3 s of start-up and none of it is needed to be ready (BENCHMARKS.md, "Footprint").
///
/// A file that cannot be read still stops start-up (`FileTokenRanks.loadTokenizers`); one that
/// reads but does not parse calls `failed`, which stops the process (`serve` exits 1 naming the
/// variable): a wrong file never silently degrades counts.
final class DeferredTokenizer: ExactTokenizer {
    private enum State {
        case pending(Data)
        case ready(any ExactTokenizer)
    }

    let encoding: TokenEncoding
    private let state: Mutex<State>
    private let failed: @Sendable (TokenizerError) -> Never

    init(encoding: TokenEncoding, ranksData: Data, failed: @escaping @Sendable (TokenizerError) -> Never) {
        self.encoding = encoding
        self.state = Mutex(.pending(ranksData))
        self.failed = failed
    }

    /// Builds the tokenizer now if nothing has yet.
    func prepare() {
        _ = loaded()
    }

    private func loaded() -> any ExactTokenizer {
        state.withLock { state in
            switch state {
            case .ready(let tokenizer):
                return tokenizer
            case .pending(let data):
                do throws(TokenizerError) {
                    let tokenizer = try encoding.tokenizer(ranksData: data)
                    state = .ready(tokenizer)
                    return tokenizer
                } catch {
                    failed(error)
                }
            }
        }
    }

    func encode(_ text: String) -> [Int] { loaded().encode(text) }
    func count(_ text: String) -> Int { loaded().count(text) }
    func decode(_ tokens: [Int]) -> [UInt8]? { loaded().decode(tokens) }
    func pieces(_ text: String) -> [String] { loaded().pieces(text) }
}
