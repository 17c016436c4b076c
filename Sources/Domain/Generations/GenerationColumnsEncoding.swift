import Foundation

/// The generation's JSON columns as `JSONEncoder` (`.sortedKeys`) writes them from the types'
/// `Encodable` conformances, written directly (`StoredJSONWriter`). Members are written in the
/// UTF-8 order of their keys; `GenerationColumnsJSONTests` compares every writer with Foundation.
public enum GenerationColumnsEncoding {
    public static func settings(_ settings: GenerationSettings) throws(StoredJSONWriter.Unsupported) -> String {
        var json = StoredJSONWriter()
        try write(settings, to: &json)
        return json.text
    }

    public static func candidates(_ candidates: [GenerationCandidate]) -> String {
        var json = StoredJSONWriter()
        json.beginArray()
        for candidate in candidates {
            json.beginObject()
            json.member("estimate", candidate.estimate)
            json.member("inputTokens", candidate.inputTokens)
            json.member("model", candidate.model)
            json.member("provider", candidate.provider.rawValue)
            json.member("unpriced", candidate.unpriced)
            json.endObject()
        }
        json.endArray()
        return json.text
    }

    public static func costBreakdown(_ breakdown: CostBreakdown) throws(StoredJSONWriter.Unsupported) -> String {
        var json = StoredJSONWriter()
        json.beginObject()
        json.member("currency", breakdown.currency)
        json.key("lines")
        json.beginArray()
        for line in breakdown.lines {
            json.beginObject()
            try json.member("billedQuantity", line.billedQuantity)
            json.member("confidence", line.confidence?.rawValue)
            json.key("dimension")
            write(line.dimension, to: &json)
            json.member("estimateOnly", line.estimateOnly)
            json.member("per", line.per)
            json.member("price", line.price)
            try json.member("quantity", line.quantity)
            json.member("source", line.source)
            json.member("subtotal", line.subtotal)
            json.member("unit", line.unit?.rawValue)
            json.endObject()
        }
        json.endArray()
        json.key("missing")
        json.beginArray()
        for missing in breakdown.missing {
            json.beginObject()
            json.key("dimension")
            write(missing.dimension, to: &json)
            json.key("missingKeys")
            json.beginArray()
            for key in missing.missingKeys { json.string(key.rawValue) }
            json.endArray()
            json.member("reason", missing.reason.rawValue)
            json.member("unit", missing.unit?.rawValue)
            json.endObject()
        }
        json.endArray()
        json.member("model", breakdown.model)
        json.member("pricingVersionId", breakdown.pricingVersionId)
        json.member("provider", breakdown.provider)
        json.member("status", breakdown.status.rawValue)
        json.member("total", breakdown.total)
        json.endObject()
        return json.text
    }

    /// A usage as stored: its own members and, when the output was counted here, `countedWith`.
    public static func usage(_ usage: Usage, countedWith: String?) throws(StoredJSONWriter.Unsupported) -> String {
        var json = StoredJSONWriter()
        json.beginObject()
        json.member("audioInputTokens", usage.audioInputTokens)
        json.member("audioOutputTokens", usage.audioOutputTokens)
        json.member("cachedInputReadTokens", usage.cachedInputReadTokens)
        json.member("cachedInputWriteOneHourTokens", usage.cachedInputWriteOneHourTokens)
        json.member("cachedInputWriteTokens", usage.cachedInputWriteTokens)
        json.member("cachedInputWriteTwelveHourTokens", usage.cachedInputWriteTwelveHourTokens)
        json.member("characters", usage.characters)
        json.member("countedWith", countedWith)
        try json.member("credits", usage.credits)
        json.member("imageInputTokens", usage.imageInputTokens)
        json.member("imageOutputTokens", usage.imageOutputTokens)
        json.key("images")
        json.beginArray()
        for image in usage.images {
            json.beginObject()
            json.member("count", image.count)
            json.member("quality", image.quality)
            json.member("resolution", image.resolution)
            json.member("size", image.size)
            json.endObject()
        }
        json.endArray()
        json.member("inputTokens", usage.inputTokens)
        try json.member("megapixels", usage.megapixels)
        json.member("outputTokens", usage.outputTokens)
        json.member("providerReportedCost", usage.providerReportedCost)
        json.member("reasoningTokens", usage.reasoningTokens)
        json.member("requests", usage.requests)
        json.key("video")
        json.beginArray()
        for clip in usage.video {
            json.beginObject()
            json.member("audio", clip.audio)
            json.member("count", clip.count)
            json.member("resolution", clip.resolution)
            try json.member("seconds", clip.seconds)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.text
    }

    /// `[String: String]` (an event's payload).
    public static func stringMap(_ map: [String: String]) -> String {
        var json = StoredJSONWriter()
        json.stringMap(map)
        return json.text
    }

    /// `[[String: String]]` (a completion's assets).
    public static func stringMaps(_ maps: [[String: String]]) -> String {
        guard !maps.isEmpty else { return "[]" }
        var json = StoredJSONWriter()
        json.beginArray()
        for map in maps { json.stringMap(map) }
        json.endArray()
        return json.text
    }

    // MARK: Parts

    private static func write(_ dimension: PriceDimension, to json: inout StoredJSONWriter) {
        json.beginObject()
        json.member("audio", dimension.audio)
        json.member("quality", dimension.quality)
        json.member("resolution", dimension.resolution)
        json.member("size", dimension.size)
        json.endObject()
    }

    /// A member of the settings object: a catalog parameter, or the chat options.
    private enum SettingsMember {
        case parameter(ParameterName)
        case chat
    }

    /// The settings' possible members in key order (`GenerationSettings.encode(to:)` keys them by
    /// the catalog's names, and the conversation by `chat`).
    private static let settingsOrder: [(key: String, member: SettingsMember)] =
        (ParameterName.allCases.map { ($0.rawValue, SettingsMember.parameter($0)) } + [("chat", .chat)])
            .sorted { StoredJSONWriter.precedes($0.0, $1.0) }

    private static func write(_ settings: GenerationSettings, to json: inout StoredJSONWriter) throws(StoredJSONWriter.Unsupported) {
        json.beginObject()
        for (key, member) in settingsOrder {
            switch member {
            case .parameter(let name):
                switch settings.parameters.value(of: name) {
                case .string(let text): json.member(key, text)
                case .integer(let number): json.member(key, number)
                case .decimal(let number): try json.member(key, number)
                case .boolean(let flag): json.member(key, flag)
                case .other, nil: continue
                }
            case .chat:
                guard let chat = settings.parameters.chat else { continue }
                json.key(key)
                try write(chat, to: &json)
            }
        }
        json.endObject()
    }

    private static func write(_ chat: ChatOptions, to json: inout StoredJSONWriter) throws(StoredJSONWriter.Unsupported) {
        json.beginObject()
        try json.member("frequency_penalty", chat.frequencyPenalty)
        json.key("messages")
        json.beginArray()
        for message in chat.messages {
            json.beginObject()
            json.member("content", message.content)
            json.member("name", message.name)
            json.member("role", message.role)
            json.endObject()
        }
        json.endArray()
        try json.member("presence_penalty", chat.presencePenalty)
        json.member("seed", chat.seed)
        if let stop = chat.stop {
            json.key("stop")
            json.beginArray()
            for text in stop { json.string(text) }
            json.endArray()
        }
        json.member("store", chat.store)
        try json.member("temperature", chat.temperature)
        try json.member("top_p", chat.topP)
        json.endObject()
    }
}
