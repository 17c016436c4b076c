import Foundation

/// One message of an OpenAI-style conversation, its content flattened to text.
public struct ChatMessage: Sendable, Codable, Equatable {
    public let role: String
    public let content: String
    public let name: String?

    public init(role: String, content: String, name: String? = nil) {
        self.role = role
        self.content = content
        self.name = name
    }

    /// The roles a chat request may carry (`developer` is OpenAI's newer name for `system`).
    public static let roles: Set<String> = ["system", "developer", "user", "assistant"]
}

/// What `POST /v1/chat/completions` carries beyond a prompt: the whole conversation and the
/// sampling options, kept with the generation so that whichever process runs it sends them on.
public struct ChatOptions: Sendable, Codable, Equatable {
    public var messages: [ChatMessage]
    public var temperature: Decimal?
    public var topP: Decimal?
    public var seed: Int?
    public var stop: [String]?
    public var presencePenalty: Decimal?
    public var frequencyPenalty: Decimal?
    /// OpenAI's `store`: true files the answer's text as a text asset in the project's library, as
    /// `POST /v1/generations` does; absent or false (OpenAI's default) keeps it on the generation only.
    public var store: Bool?

    public init(messages: [ChatMessage], temperature: Decimal? = nil, topP: Decimal? = nil, seed: Int? = nil, stop: [String]? = nil,
                presencePenalty: Decimal? = nil, frequencyPenalty: Decimal? = nil, store: Bool? = nil) {
        self.messages = messages
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
        self.stop = stop
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.store = store
    }

    enum CodingKeys: String, CodingKey {
        case messages, temperature, topP = "top_p", seed, stop, presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty",
             store
    }

    /// The conversation as one text, one message a line: what the estimate counts as input and
    /// what an adapter that takes a single prompt receives. A message's `name` is in it, since
    /// OpenAI's and OpenRouter's APIs bill it as input (left out, a request of many named messages
    /// was reserved for fewer tokens than it was charged).
    public var transcript: String {
        messages.map { message in
            let speaker = message.name.map { "\(message.role) (\($0))" } ?? message.role
            return "\(speaker): \(message.content)"
        }.joined(separator: "\n")
    }
}
