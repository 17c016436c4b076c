import Domain
import Foundation
import Synchronization

/// A configured encoding's tokenizer whose ranks file was read at start-up but is parsed later:
/// by `serve` on a thread of its own once it listens, or by the first count that needs it,
/// whichever comes first (the other waits). Parsing both files and building their tables took
/// ~0.3 s of start-up and none of it is needed to be ready (BENCHMARKS.md, "Footprint").
///
/// A file that cannot be read still stops start-up (`FileTokenRanks.loadTokenizers`); one that
/// reads but does not parse calls `failed`, which stops the process in order (`serve` exits 1
/// naming the variable). Until it has stopped, counts are never passed off as exact:
/// `exactCount` answers nil and `count` the upper bound, which is never below the exact count, so
/// a reservation made meanwhile is not short.
final class DeferredTokenizer: ExactTokenizer {
    private enum State {
        case pending(Data)
        case ready(any ExactTokenizer)
        case failed
    }

    let encoding: TokenEncoding
    private let state: Mutex<State>
    private let failed: @Sendable (TokenizerError) -> Void

    init(encoding: TokenEncoding, ranksData: Data, failed: @escaping @Sendable (TokenizerError) -> Void) {
        self.encoding = encoding
        self.state = Mutex(.pending(ranksData))
        self.failed = failed
    }

    /// Builds the tokenizer now if nothing has yet.
    func prepare() {
        _ = loaded()
    }

    /// The parsed tokenizer, parsing it first if nothing has yet; nil once the parse has failed.
    private func loaded() -> (any ExactTokenizer)? {
        let outcome: Result<(any ExactTokenizer)?, TokenizerError> = state.withLock { state in
            switch state {
            case .ready(let tokenizer):
                return .success(tokenizer)
            case .failed:
                return .success(nil)
            case .pending(let data):
                do throws(TokenizerError) {
                    let tokenizer = try encoding.tokenizer(ranksData: data)
                    state = .ready(tokenizer)
                    return .success(tokenizer)
                } catch {
                    state = .failed
                    return .failure(error)
                }
            }
        }
        switch outcome {
        case .success(let tokenizer):
            return tokenizer
        case .failure(let error):
            // Outside the lock: the callback logs and asks the process to stop.
            failed(error)
            return nil
        }
    }

    func exactCount(_ text: String) -> Int? { loaded()?.count(text) }
    func count(_ text: String) -> Int { exactCount(text) ?? TokenUpperBound.count(text) }
    // Not on any request's path (benchmarks and tests read them); empty after a failed parse.
    func encode(_ text: String) -> [Int] { loaded()?.encode(text) ?? [] }
    func decode(_ tokens: [Int]) -> [UInt8]? { loaded()?.decode(tokens) }
    func pieces(_ text: String) -> [String] { loaded()?.pieces(text) ?? [] }
}
