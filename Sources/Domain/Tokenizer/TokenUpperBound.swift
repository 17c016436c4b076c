/// A token count that is never below the true one, for any tokenizer whose tokens are
/// non-empty byte strings covering the text: byte-level BPE (tiktoken's encodings, Claude's)
/// and SentencePiece with byte fallback alike.
///
/// Construction: every token covers at least one byte of the UTF-8 text, so a text of n bytes
/// has at most n tokens. The bound is tightened by one proven fact per case where it costs
/// nothing to check, and only those:
/// - an empty text has no tokens;
/// - nothing else is assumed about a vocabulary we do not have (no "four bytes a token"
///   average: on digits, punctuation and rare scripts real counts come close to one token a
///   byte, and admission against a budget must not be passed by a low estimate).
///
/// `TokenUpperBoundTests` checks it against cl100k_base and o200k_base on the whole corpus.
public enum TokenUpperBound {
    public static let name = "utf8_bytes_bound"

    public static func count(_ text: String) -> Int {
        text.utf8.count
    }
}
