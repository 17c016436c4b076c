/// The API key bodies written directly (see `JSONWritable`): members in Foundation's sorted order.
extension ApiKeyList: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        json.openObject(firstKey: "data")
        json.writeArray(data) { $0.writeJSON(to: json) }
        json.closeObject()
    }
}

extension ApiKeyBody: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        json.openObject(firstKey: "created_at")
        json.writeDate(createdAt)
        json.key("id")
        json.writeString(id)
        json.key("label")
        json.writeString(label)
        json.key("last_checked_at")
        json.writeDate(lastCheckedAt)
        json.key("last_used_at")
        json.writeDate(lastUsedAt)
        json.key("mask")
        json.writeString(mask)
        json.key("provider")
        json.writeString(provider)
        json.key("status")
        json.writeString(status)
        json.key("updated_at")
        json.writeDate(updatedAt)
        json.closeObject()
    }
}
