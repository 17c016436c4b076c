/// The project bodies written directly (see `JSONWritable`): members in Foundation's sorted order.
extension ProjectPageBody: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        json.openObject(firstKey: "data")
        json.writeArray(data) { $0.writeJSON(to: json) }
        json.key("next_cursor")
        json.writeString(nextCursor)
        json.closeObject()
    }
}

extension ProjectBody: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        json.openObject(firstKey: "allow_unpriced")
        json.writeBool(allowUnpriced)
        json.key("archived")
        json.writeBool(archived)
        json.key("archived_at")
        json.writeDate(archivedAt)
        json.key("budget")
        budget.writeJSON(to: json)
        json.key("created_at")
        json.writeDate(createdAt)
        json.key("description")
        json.writeString(description)
        json.key("id")
        json.writeString(id)
        json.key("name")
        json.writeString(name)
        json.key("updated_at")
        json.writeDate(updatedAt)
        json.key("version")
        json.writeInteger(version)
        json.closeObject()
    }
}

extension BudgetBody: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        json.openObject(firstKey: "limit")
        json.writeMoney(limit)
        json.key("period")
        json.writeString(period)
        json.key("period_start")
        json.writeDate(periodStart)
        json.key("remaining")
        json.writeMoney(remaining)
        json.key("reserved")
        json.writeMoney(reserved)
        json.key("spent")
        json.writeMoney(spent)
        json.closeObject()
    }
}
