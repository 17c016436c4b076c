/// A token count that is never below the true one, for any tokenizer whose tokens are
/// non-empty byte strings that together spell the text: byte-level BPE (tiktoken's encodings,
/// Claude's) and SentencePiece with byte fallback alike.
///
/// Construction: each token covers at least one byte of the UTF-8 text and no two tokens
/// cover the same byte, so a text of n bytes has at most n tokens (0 for the empty text).
///
/// Nothing tighter is claimed, because nothing tighter can be proven for a vocabulary we do
/// not have: an average such as "four bytes a token" holds for English prose but not for
/// digits, punctuation runs or rare scripts, where real counts come close to one token a byte,
/// and an estimate below the true count would let spend slip past a budget. Where the model's
/// encoding is loaded the exact count is used instead, so this bound only prices models whose
/// tokenizer is unpublished (Claude) or unknown, and OpenAI models on a server without the
/// ranks files. `TokenizerUpperBoundTests` checks it against cl100k_base and o200k_base on both
/// corpora.
public enum TokenUpperBound {
    public static let name = "utf8_bytes_bound"

    public static func count(_ text: String) -> Int {
        text.utf8.count
    }
}
