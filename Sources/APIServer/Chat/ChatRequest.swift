import Domain
import Foundation

/// A `POST /v1/chat/completions` body in OpenAI's request format, read strictly: the members
/// OpenAI's SDKs send for a plain text conversation are understood, anything else is refused by
/// name (422 `unknown_field`) rather than silently dropped, since dropping `tools` or
/// `response_format` would change the answer the client expects.
struct ChatRequest: Sendable {
    /// `model` as sent: a catalog model id, or `provider/model`.
    let model: String
    let provider: ProviderID?
    let modelID: String
    let options: ChatOptions
    /// `max_completion_tokens`, else `max_tokens`; nil reserves the model's maximum output.
    let maxTokens: Int?
    let stream: Bool
    let includeUsage: Bool

    static let maximumMessages = 2_000
    static let maximumStopSequences = 4
    static let maximumStopCharacters = 256
    static let maximumUserCharacters = 256
    /// Members read here; `user` is accepted and ignored (OpenAI uses it for abuse tracking only).
    static let members: Set<String> = [
        "model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options", "temperature", "top_p", "n",
        "seed", "stop", "presence_penalty", "frequency_penalty", "user", "store",
    ]

    static func decode(_ request: HTTPRequest) throws -> ChatRequest {
        guard !request.body.isEmpty else { throw Problem.badJSON("The request needs a JSON body.") }
        let tree: WireJSON
        do {
            tree = try BodyJSONParser.parse(request.body)
        } catch {
            throw Problem.badJSON(error.description)
        }
        guard case .object(let body) = tree else { throw Problem.badJSON("The body must be a JSON object.") }
        var reader = Reader()
        let unknown = body.keys.filter { !members.contains($0) }.sorted()
        var unknownPaths = unknown
        if case .object(let streamOptions)? = body["stream_options"] {
            unknownPaths += streamOptions.keys.filter { $0 != "include_usage" }.sorted().map { "stream_options.\($0)" }
        }
        guard unknownPaths.isEmpty else { throw Problem.unknownFields(unknownPaths) }

        let model = reader.string(body["model"], "model", required: true, maximum: QuoteRequest.maximumModelCharacters)
        let messages = reader.messages(body["messages"])
        let maxTokens = reader.integer(body["max_tokens"], "max_tokens", 1...QuoteRequest.maximumOutputTokens)
        let maxCompletionTokens = reader.integer(body["max_completion_tokens"], "max_completion_tokens", 1...QuoteRequest.maximumOutputTokens)
        let stream = reader.bool(body["stream"], "stream") ?? false
        var includeUsage = false
        switch body["stream_options"] {
        case nil, .null?: break
        case .object(let options)?: includeUsage = reader.bool(options["include_usage"], "stream_options.include_usage") ?? false
        case let other?: reader.mismatch("stream_options", other, expected: "an object")
        }
        let temperature = reader.decimal(body["temperature"], "temperature", 0...2)
        let topP = reader.decimal(body["top_p"], "top_p", 0...1)
        let presence = reader.decimal(body["presence_penalty"], "presence_penalty", -2...2)
        let frequency = reader.decimal(body["frequency_penalty"], "frequency_penalty", -2...2)
        if let n = reader.integer(body["n"], "n", 1...128), n != 1 {
            reader.errors.append(FieldError(field: "n", code: "unsupported", message: "n must be 1: one choice per request"))
        }
        let seed = reader.integer(body["seed"], "seed", Int(Int32.min)...Int(Int32.max))
        let stop = reader.stop(body["stop"])
        _ = reader.string(body["user"], "user", required: false, maximum: maximumUserCharacters)
        let store = reader.bool(body["store"], "store") == true ? true : nil
        if !stream, body["stream_options"].map({ if case .null = $0 { false } else { true } }) == true {
            reader.errors.append(FieldError(field: "stream_options", code: "invalid", message: "stream_options is only allowed with stream: true"))
        }
        let options = ChatOptions(messages: messages ?? [], temperature: temperature, topP: topP, seed: seed, stop: stop,
                                  presencePenalty: presence, frequencyPenalty: frequency, store: store)
        if let messages, options.transcript.unicodeScalars.count > QuoteRequest.maximumPromptCharacters {
            reader.errors.append(FieldError(field: "messages", code: "too_long",
                                            message: "the \(messages.count) messages hold more than \(QuoteRequest.maximumPromptCharacters) characters"))
        }
        guard reader.errors.isEmpty, let model, messages != nil else { throw DomainError.validation(reader.errors) }
        let (provider, modelID) = Self.split(model)
        return ChatRequest(model: model, provider: provider, modelID: modelID, options: options,
                           maxTokens: maxCompletionTokens ?? maxTokens, stream: stream, includeUsage: includeUsage)
    }

    /// `openai/gpt-4o-mini` names a provider; a model id that itself holds a slash (OpenRouter's
    /// `meta-llama/...`) with no provider of that name is a plain model id.
    static func split(_ model: String) -> (ProviderID?, String) {
        guard let slash = model.firstIndex(of: "/"), let provider = ProviderID(rawValue: String(model[..<slash])) else { return (nil, model) }
        let rest = String(model[model.index(after: slash)...])
        return rest.isEmpty ? (nil, model) : (provider, rest)
    }

    /// Reads members, collecting one error per bad field.
    private struct Reader {
        var errors: [FieldError] = []

        mutating func mismatch(_ field: String, _ value: WireJSON, expected: String) {
            errors.append(FieldError(field: field, code: "invalid_type", message: "\(field) must be \(expected), not \(value.typeName)"))
        }

        mutating func string(_ value: WireJSON?, _ field: String, required: Bool, maximum: Int) -> String? {
            switch value {
            case nil, .null?:
                if required { errors.append(FieldError(field: field, code: "required", message: "\(field) is required")) }
                return nil
            case .string(let text)?:
                guard !text.isEmpty, text.unicodeScalars.count <= maximum else {
                    errors.append(FieldError(field: field, code: "invalid_length", message: "\(field) must be 1 to \(maximum) characters"))
                    return nil
                }
                guard !text.unicodeScalars.contains("\u{0}") else {
                    errors.append(FieldError(field: field, code: "invalid_characters", message: "Text must not contain NUL (U+0000)."))
                    return nil
                }
                return text
            case let other?:
                mismatch(field, other, expected: "a string")
                return nil
            }
        }

        mutating func bool(_ value: WireJSON?, _ field: String) -> Bool? {
            switch value {
            case nil, .null?: return nil
            case .bool(let flag)?: return flag
            case let other?:
                mismatch(field, other, expected: "a boolean")
                return nil
            }
        }

        mutating func integer(_ value: WireJSON?, _ field: String, _ range: ClosedRange<Int>) -> Int? {
            switch value {
            case nil, .null?: return nil
            case .number(let text)?:
                guard let number = Int(text), range.contains(number) else {
                    errors.append(FieldError(field: field, code: "out_of_range",
                                             message: "\(field) must be a whole number from \(range.lowerBound) to \(range.upperBound)"))
                    return nil
                }
                return number
            case let other?:
                mismatch(field, other, expected: "an integer")
                return nil
            }
        }

        mutating func decimal(_ value: WireJSON?, _ field: String, _ range: ClosedRange<Decimal>) -> Decimal? {
            switch value {
            case nil, .null?: return nil
            case .number(let text)?:
                // At most 32 characters: a sampling knob needs no more, and Decimal parses it exactly.
                guard text.count <= 32, let number = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")),
                      range.contains(number) else {
                    errors.append(FieldError(field: field, code: "out_of_range",
                                             message: "\(field) must be a number from \(range.lowerBound) to \(range.upperBound)"))
                    return nil
                }
                return number
            case let other?:
                mismatch(field, other, expected: "a number")
                return nil
            }
        }

        mutating func stop(_ value: WireJSON?) -> [String]? {
            switch value {
            case nil, .null?: return nil
            case .string?:
                return string(value, "stop", required: false, maximum: ChatRequest.maximumStopCharacters).map { [$0] }
            case .array(let items)?:
                guard items.count <= ChatRequest.maximumStopSequences else {
                    errors.append(FieldError(field: "stop", code: "too_many", message: "stop holds at most \(ChatRequest.maximumStopSequences) sequences"))
                    return nil
                }
                let texts = items.enumerated().compactMap { string($1, "stop[\($0)]", required: true, maximum: ChatRequest.maximumStopCharacters) }
                return texts.count == items.count ? texts : nil
            case let other?:
                mismatch("stop", other, expected: "a string or an array of strings")
                return nil
            }
        }

        mutating func messages(_ value: WireJSON?) -> [ChatMessage]? {
            guard let value, !{ if case .null = value { true } else { false } }() else {
                errors.append(FieldError(field: "messages", code: "required", message: "messages is required"))
                return nil
            }
            guard case .array(let items) = value else {
                mismatch("messages", value, expected: "an array")
                return nil
            }
            guard (1...ChatRequest.maximumMessages).contains(items.count) else {
                errors.append(FieldError(field: "messages", code: "invalid_length", message: "messages must hold 1 to \(ChatRequest.maximumMessages) messages"))
                return nil
            }
            var messages: [ChatMessage] = []
            for (index, item) in items.enumerated() {
                if let message = message(item, path: "messages[\(index)]") { messages.append(message) }
                if errors.count >= Problem.maximumFieldErrors { break }
            }
            return messages.count == items.count ? messages : nil
        }

        private mutating func message(_ value: WireJSON, path: String) -> ChatMessage? {
            guard case .object(let object) = value else {
                mismatch(path, value, expected: "an object")
                return nil
            }
            let unknown = object.keys.filter { !["role", "content", "name"].contains($0) }.sorted()
            guard unknown.isEmpty else {
                for key in unknown {
                    errors.append(FieldError(field: "\(path).\(BodyJSONParser.printable(key))", code: "unknown_field",
                                             message: "only text messages (role, content, name) are supported"))
                }
                return nil
            }
            let role = string(object["role"], "\(path).role", required: true, maximum: 16)
            if let role, !ChatMessage.roles.contains(role) {
                errors.append(FieldError(field: "\(path).role", code: "invalid",
                                         message: "role must be one of \(ChatMessage.roles.sorted().joined(separator: ", "))"))
            }
            let name = string(object["name"], "\(path).name", required: false, maximum: 64)
            let content = content(object["content"], path: "\(path).content")
            guard let role, ChatMessage.roles.contains(role), let content else { return nil }
            return ChatMessage(role: role, content: content, name: name)
        }

        /// A string, or an array of `{"type": "text", "text": ...}` parts joined together.
        private mutating func content(_ value: WireJSON?, path: String) -> String? {
            switch value {
            case .string(let text)?:
                guard !text.unicodeScalars.contains("\u{0}") else {
                    errors.append(FieldError(field: path, code: "invalid_characters", message: "Text must not contain NUL (U+0000)."))
                    return nil
                }
                return text
            case .array(let parts)?:
                var texts: [String] = []
                for (index, part) in parts.enumerated() {
                    guard case .object(let object) = part, case .string("text")? = object["type"], object.count == 2,
                          let text = string(object["text"], "\(path)[\(index)].text", required: true, maximum: QuoteRequest.maximumPromptCharacters)
                    else {
                        errors.append(FieldError(field: "\(path)[\(index)]", code: "unsupported",
                                                 message: "only text parts ({\"type\": \"text\", \"text\": ...}) are supported"))
                        return nil
                    }
                    texts.append(text)
                }
                guard !texts.isEmpty else {
                    errors.append(FieldError(field: path, code: "required", message: "content must not be empty"))
                    return nil
                }
                return texts.joined(separator: "\n")
            case nil, .null?:
                errors.append(FieldError(field: path, code: "required", message: "content is required"))
                return nil
            case let other?:
                mismatch(path, other, expected: "a string or an array of text parts")
                return nil
            }
        }
    }
}
