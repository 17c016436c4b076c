import Foundation

/// The offline "model": a deterministic text built from the prompt, labelled so nobody mistakes
/// it for a real answer. Useful for trying every flow (budgets, history, streaming) without a key.
enum OfflineText {
    static let label = "[offline local provider: no model was called and nothing was charged]"

    static func compose(prompt: String, systemPrompt: String?, maxWords: Int?) -> String {
        let words = prompt.split(whereSeparator: { $0.isWhitespace })
        let digest = String(PromptArt.hash(prompt, seed: 0), radix: 16)
        var lines = [label]
        if let systemPrompt, !systemPrompt.isEmpty {
            lines.append("System instructions received (\(systemPrompt.count) characters).")
        }
        lines.append("Your prompt had \(words.count) words and \(prompt.count) characters (fingerprint \(digest)).")
        let echoed = words.prefix(maxWords.map { max(1, $0) } ?? 60).joined(separator: " ")
        lines.append("Echo: \(echoed)\(words.count > (maxWords ?? 60) ? " …" : "")")
        lines.append("Connect a provider key to get a real answer.")
        return lines.joined(separator: "\n")
    }

    /// The longest prefix (whole characters) that counts as at most `tokens` (at least one character).
    static func truncated(_ text: String, toTokens tokens: Int) -> String {
        let budget = max(1, tokens) * bytesPerToken
        var bytes = 0
        var end = text.startIndex
        for index in text.indices {
            let size = text[index].utf8.count
            guard bytes + size <= budget else { break }
            bytes += size
            end = text.index(after: index)
        }
        return end == text.startIndex ? String(text.prefix(1)) : String(text[..<end])
    }

    /// A rough token count (about four characters per token) so usage screens show something
    /// plausible; the cost is zero regardless.
    static func approximateTokens(_ text: String) -> Int {
        max(1, (text.utf8.count + bytesPerToken - 1) / bytesPerToken)
    }

    static let bytesPerToken = 4
}
