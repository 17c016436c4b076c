import Domain
import Foundation

/// `POST /v1/tokens/count`: how many input tokens a text or a chat request is for a model,
/// exact where the model's encoding is loaded, otherwise an upper bound marked `estimated`, or
/// for Claude Anthropic's own count when the caller holds a usable key. A deferred route: the
/// body is checked here, the counting (and any call to Anthropic) runs on the provider queue.
struct TokenCountHandlers: Sendable {
    let counter: any TokenCounting
    let authenticator: Authenticator
    let queue: WorkQueue
    let anthropic: AnthropicTokenCounts

    /// The documented bounds (openapi.yaml `TokenCountRequest`), in Unicode scalars as JSON
    /// Schema counts them; the body limit is the outer one.
    static let maxTextLength = 1_000_000
    static let maxMessages = 2_000
    static let maxModelLength = 200
    static let maxNameLength = 64
    static let roles = ["system", "developer", "user", "assistant", "tool"]

    private struct Body: Decodable {
        struct Message: Decodable {
            let role: String?
            let content: String?
            let name: String?
        }

        let model: String?
        let provider: String?
        let text: String?
        let messages: [Message]?
    }

    func count(_ request: HTTPRequest) throws -> DeferredWork {
        let identity = try authenticator.identity(of: request)
        let body = try request.decodeBody(Body.self)
        var errors: [FieldError] = []
        func refuse(_ field: String, _ code: String, _ message: String) {
            errors.append(FieldError(field: field, code: code, message: message))
        }
        if let model = body.model {
            if model.isEmpty || model.unicodeScalars.count > Self.maxModelLength {
                refuse("model", "invalid", "model must be 1 to \(Self.maxModelLength) characters")
            }
        } else {
            refuse("model", "required", "model is required")
        }
        let provider = body.provider.flatMap(ProviderID.init(rawValue:))
        if body.provider != nil, provider == nil {
            refuse("provider", "invalid", "provider must be one of \(ProviderID.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        switch (body.text, body.messages) {
        case (nil, nil):
            refuse("text", "required", "one of text or messages is required")
        case (.some, .some):
            refuse("messages", "invalid", "give text or messages, not both")
        case (.some(let text), nil) where text.unicodeScalars.count > Self.maxTextLength:
            refuse("text", "too_long", "text must be at most \(Self.maxTextLength) characters")
        case (nil, .some(let messages)):
            validate(messages, refuse)
        default:
            break
        }
        guard errors.isEmpty, let model = body.model else { throw DomainError.validation(errors) }

        let vendor = provider?.rawValue ?? Self.provider(ofModel: model)
        let text = body.text
        let messages = (body.messages ?? []).map { ChatMessageText(role: $0.role ?? "", content: $0.content ?? "", name: $0.name) }
        // Anthropic is asked only for a text (it counts it as one user message); a Claude chat
        // body keeps the bound.
        let anthropic = vendor == ProviderID.anthropic.rawValue ? self.anthropic : nil
        let counter = self.counter
        return DeferredWork(queue: queue, run: {
            var counted: TokenCount
            var framing = 0
            if let text {
                counted = counter.countTokens(text, provider: vendor, model: model)
                if let anthropic, let provided = anthropic.count(text, model: model, for: identity) {
                    counted = TokenCount(count: provided, kind: .estimated, modelEncoding: counted.modelEncoding,
                                         countedWith: AnthropicTokenCounts.countedWith)
                }
            } else {
                (counted, framing) = ChatTokenCounting.count(messages, with: counter, provider: vendor, model: model)
            }
            return try .json(TokenCountBody(model: model, provider: vendor, count: counted.count, kind: counted.kind.rawValue,
                                            encoding: counted.modelEncoding, countedWith: counted.countedWith, framingTokens: framing))
        })
    }

    private func validate(_ messages: [Body.Message], _ refuse: (String, String, String) -> Void) {
        if messages.isEmpty || messages.count > Self.maxMessages {
            refuse("messages", "invalid", "messages must hold 1 to \(Self.maxMessages) messages")
        }
        for (index, message) in messages.enumerated() {
            let field = "messages[\(index)]"
            if let role = message.role {
                if !Self.roles.contains(role) { refuse(field + ".role", "invalid", "role must be one of \(Self.roles.joined(separator: ", "))") }
            } else {
                refuse(field + ".role", "required", "role is required")
            }
            if let content = message.content {
                if content.unicodeScalars.count > Self.maxTextLength { refuse(field + ".content", "too_long", "content must be at most \(Self.maxTextLength) characters") }
            } else {
                refuse(field + ".content", "required", "content is required")
            }
            if let name = message.name, name.isEmpty || name.unicodeScalars.count > Self.maxNameLength {
                refuse(field + ".name", "invalid", "name must be 1 to \(Self.maxNameLength) characters")
            }
        }
    }

    /// The provider a bare model id belongs to: `vendor/model` is an OpenRouter id, OpenAI's
    /// families and `claude-` are their makers'; anything else has an unknown encoding.
    static func provider(ofModel model: String) -> String {
        if model.contains("/") { return ProviderID.openrouter.rawValue }
        if ModelTokenCounter.openAIEncoding(model) != nil { return ProviderID.openai.rawValue }
        if model.hasPrefix("claude") { return ProviderID.anthropic.rawValue }
        return "unknown"
    }
}

private struct TokenCountBody: Encodable {
    let model: String
    let provider: String
    let count: Int
    let kind: String
    let encoding: String
    let countedWith: String
    let framingTokens: Int
}
