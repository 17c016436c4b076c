/// The API key bodies written directly (see `JSONWritable`): members in Foundation's sorted order.
extension ApiKeyList: JSONWritable {
    /// A listed key is about 300 bytes: room for the list at once.
    var estimatedJSONSize: Int { 16 + 384 * data.count }

    func writeJSON(to json: JSONStreamWriter) {
        json.member(#"{"data":"#)
        json.writeArray(data) { $0.writeJSON(to: json) }
        json.closeObject()
    }
}

extension ApiKeyBody: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        json.member(#"{"created_at":"#)
        json.writeDate(createdAt)
        json.member(#","id":"#)
        json.writeString(id)
        json.member(#","label":"#)
        json.writeString(label)
        json.member(#","last_checked_at":"#)
        json.writeDate(lastCheckedAt)
        json.member(#","last_used_at":"#)
        json.writeDate(lastUsedAt)
        json.member(#","mask":"#)
        json.writeString(mask)
        json.member(#","provider":"#)
        json.writeString(provider)
        json.member(#","status":"#)
        json.writeString(status)
        json.member(#","updated_at":"#)
        json.writeDate(updatedAt)
        json.closeObject()
    }
}
