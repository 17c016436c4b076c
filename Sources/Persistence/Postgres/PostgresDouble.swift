import Foundation

/// Measurements (latencies, token counts), never money: money is `Decimal` and `numeric`.
extension Double: PostgresEncodable {
    /// Non-finite values are sent as NULL: no column of ours holds them.
    public var postgresText: String? { isFinite ? String(self) : nil }
}

extension Double: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = Double(text), value.isFinite else { throw UnreadableText() }
        self = value
    }
}
