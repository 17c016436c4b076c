/// The chat completion's body written directly (see `JSONWritable`): members in Foundation's
/// sorted order. Every non-streaming answer of `POST /v1/chat/completions` is one of these, and
/// through Codable its encoding was about a twentieth of the server's instructions per request.
extension ChatCompletion.Body: JSONWritable {
    /// About 400 bytes of members around the answer's text (an eighth more for its escapes).
    var estimatedJSONSize: Int { 512 + choices.reduce(0) { $0 + $1.message.content.utf8.count * 9 / 8 } }

    func writeJSON(to json: JSONStreamWriter) {
        json.member(#"{"choices":"#)
        json.writeArray(choices) { choice in
            json.member(#"{"finish_reason":"#)
            json.writeString(choice.finishReason)
            json.member(#","index":"#)
            json.writeInteger(choice.index)
            json.member(#","message":{"content":"#)
            json.writeString(choice.message.content)
            json.member(#","role":"#)
            json.writeString(choice.message.role)
            json.writeLiteral("}}")
        }
        json.member(#","created":"#)
        json.writeInteger(created)
        json.member(#","id":"#)
        json.writeString(id)
        json.member(#","model":"#)
        json.writeString(model)
        json.member(#","object":"#)
        json.writeString(object)
        json.member(#","usage":"#)
        usage.writeJSON(to: json)
        json.closeObject()
    }
}

extension ChatUsage: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        json.member(#"{"completion_tokens":"#)
        json.writeInteger(completionTokens)
        if let costUsd {
            json.member(#","cost_usd":"#)
            json.writeString(costUsd)
        }
        json.member(#","prompt_tokens":"#)
        json.writeInteger(promptTokens)
        json.member(#","prompt_tokens_details":{"cached_tokens":"#)
        json.writeInteger(promptTokensDetails.cachedTokens)
        json.member(#"},"total_tokens":"#)
        json.writeInteger(totalTokens)
        json.closeObject()
    }
}
