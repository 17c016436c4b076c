import Domain
import Foundation

/// The project bodies written directly (see `JSONWritable`): members in Foundation's sorted order,
/// each value read from the domain project as it is written.
extension ProjectPageBody: JSONWritable {
    /// A listed project is about 450 bytes (more with long names): room for the page at once.
    var estimatedJSONSize: Int { 64 + 640 * items.count }

    func writeJSON(to json: JSONStreamWriter) {
        json.member(#"{"data":"#)
        json.writeArray(items) { ProjectBody.write($0, to: json) }
        json.member(#","next_cursor":"#)
        json.writeString(nextCursor)
        json.closeObject()
    }
}

extension ProjectBody: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        Self.write(project, to: json)
    }

    static func write(_ project: Project, to json: JSONStreamWriter) {
        json.member(#"{"allow_unpriced":"#)
        json.writeBool(project.allowUnpriced)
        json.member(#","archived":"#)
        json.writeBool(project.archivedAt != nil)
        json.member(#","archived_at":"#)
        json.writeDate(project.archivedAt)
        json.member(#","budget":"#)
        BudgetBody.write(project.budget, to: json)
        json.member(#","created_at":"#)
        json.writeDate(project.createdAt)
        json.member(#","description":"#)
        json.writeString(project.description)
        json.member(#","id":"#)
        json.writeUUID(project.id)
        json.member(#","name":"#)
        json.writeString(project.name)
        json.member(#","updated_at":"#)
        json.writeDate(project.updatedAt)
        json.member(#","version":"#)
        json.writeInteger(project.version)
        json.closeObject()
    }
}

extension BudgetBody: JSONWritable {
    func writeJSON(to json: JSONStreamWriter) {
        Self.write(summary, to: json)
    }

    static func write(_ summary: BudgetSummary, to json: JSONStreamWriter) {
        json.member(#"{"limit":"#)
        json.writeMoney(summary.limit)
        json.member(#","period":"#)
        json.writeString(summary.period.rawValue)
        json.member(#","period_start":"#)
        json.writeDate(summary.periodStart)
        json.member(#","remaining":"#)
        json.writeMoney(summary.remaining)
        json.member(#","reserved":"#)
        json.writeMoney(summary.reserved)
        json.member(#","spent":"#)
        json.writeMoney(summary.spent)
        json.closeObject()
    }
}
