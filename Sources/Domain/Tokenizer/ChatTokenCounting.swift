/// One chat message as the token counter sees it.
public struct ChatMessageText: Sendable, Hashable {
    public var role: String
    public var content: String
    public var name: String?

    public init(role: String, content: String, name: String? = nil) {
        self.role = role
        self.content = content
        self.name = name
    }
}

/// Tokens of a chat request's messages: each role, content and name counted as text, plus
/// OpenAI's published framing (3 tokens per message, 1 more for a name, 3 to prime the reply),
/// the same formula tiktoken's cookbook uses for the GPT-4o/4.1/5 families.
public enum ChatTokenCounting {
    public static let tokensPerMessage = 3
    public static let tokensPerName = 1
    public static let tokensForReply = 3

    /// The total (whose kind is the text counts' kind) and, separately, the framing part of it.
    public static func count(_ messages: [ChatMessageText], with counter: any TokenCounting,
                             provider: String, model: String) -> (total: TokenCount, framing: Int) {
        var total = counter.countTokens("", provider: provider, model: model)
        var framing = tokensForReply
        for message in messages {
            framing += tokensPerMessage
            total.count += counter.countTokens(message.role, provider: provider, model: model).count
            total.count += counter.countTokens(message.content, provider: provider, model: model).count
            if let name = message.name {
                framing += tokensPerName
                total.count += counter.countTokens(name, provider: provider, model: model).count
            }
        }
        total.count += framing
        return (total, framing)
    }
}
