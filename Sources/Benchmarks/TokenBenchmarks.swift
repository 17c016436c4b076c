import Domain
import Foundation

/// `Benchmarks tokens --ranks FILE --text FILE [--runs N] [--encoding cl100k_base|o200k_base]`:
/// encoding throughput on one text. Prints one `key=value` line per text for scripts/bench-tokens.sh to parse; the
/// script runs tiktoken on the same file in the same run and computes the ratio.
func runTokenBenchmarks(_ arguments: [String]) {
    var options: [String: String] = [:]
    var index = 0
    while index + 1 < arguments.count {
        options[arguments[index]] = arguments[index + 1]
        index += 2
    }
    guard let ranksPath = options["--ranks"], let textPath = options["--text"] else {
        print("usage: Benchmarks tokens --ranks RANKS_FILE --text TEXT_FILE [--runs N] [--encoding cl100k_base|o200k_base]")
        return
    }
    guard let encoding = TokenEncoding(rawValue: options["--encoding"] ?? TokenEncoding.cl100kBase.rawValue) else {
        print("error: unknown encoding \(options["--encoding"] ?? "")")
        return
    }
    let runs = Int(options["--runs"] ?? "") ?? 5
    let clock = ContinuousClock()

    let loadStart = clock.now
    let tokenizer: any ExactTokenizer
    do {
        guard let ranks = FileManager.default.contents(atPath: ranksPath) else { throw TokenizerError.ranksFileUnreadable(path: ranksPath) }
        tokenizer = try encoding.tokenizer(ranksData: ranks)
    } catch {
        print("error: cannot load ranks: \(error)")
        return
    }
    let loadTime = clock.now - loadStart
    guard let data = FileManager.default.contents(atPath: textPath) else {
        print("error: cannot read \(textPath)")
        return
    }
    let text = String(decoding: data, as: UTF8.self)
    let bytes = text.utf8.count

    // One untimed pass warms the caches. (Loading, timed above, includes parsing the ranks
    // and building the character-class table.)
    var tokenCount = tokenizer.encode(text).count
    var best = Duration.seconds(1_000_000)
    for _ in 0..<runs {
        let elapsed = clock.measure { tokenCount = tokenizer.encode(text).count }
        best = min(best, elapsed)
    }
    var bestCount = Duration.seconds(1_000_000)
    for _ in 0..<runs {
        bestCount = min(bestCount, clock.measure { _ = tokenizer.count(text) })
    }
    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
    let megabytes = Double(bytes) / 1_000_000
    print(String(
        format: "swift_encode bytes=%d tokens=%d runs=%d best_seconds=%.4f mb_per_s=%.2f count_mb_per_s=%.2f load_seconds=%.3f",
        bytes, tokenCount, runs, seconds(best), megabytes / seconds(best), megabytes / seconds(bestCount), seconds(loadTime)
    ))
}
