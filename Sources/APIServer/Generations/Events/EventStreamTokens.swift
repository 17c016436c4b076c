import Crypto
import Domain
import Foundation

/// The token in a generation's `events_url`. A browser's `EventSource` cannot send an
/// Authorization header, and the long-lived JWT must never sit in a URL (logs, history,
/// Referer), so the URL carries a token that opens only that one generation's event stream, for
/// that user, until a fixed time. Form: `<user id>.<expiry, Unix seconds>.<HMAC-SHA256, base64url>`
/// under a key derived from `JWT_SECRET` (HKDF, its own label), never the secret itself.
struct EventStreamTokens: Sendable {
    private let key: SecretBytes

    /// Valid this long after the generation was created: its longest life (the provider poll
    /// deadline) plus a margin, so an `EventSource` keeps reconnecting while the generation runs.
    static let lifetimeSeconds: TimeInterval = GenerationComponents.pollDeadlineSeconds + 3600

    init(secret: SecretBytes) throws {
        key = try HKDFSHA256.deriveKey(inputKeyMaterial: secret, salt: [UInt8](), info: Array("generation-events-token-v1".utf8),
                                       outputByteCount: SHA256.byteCount)
    }

    func token(generation: UUID, user: UUID, expires: Date) throws -> String {
        try sign(user: user, expires: expires) { Self.message(generation, $0, $1) }
    }

    /// The user a token opens `generation`'s stream for, or nil when it is malformed, forged,
    /// for another generation or expired.
    func user(in token: String, generation: UUID, now: Date) -> UUID? {
        verify(token, now: now) { Self.message(generation, $0, $1) }
    }

    /// `GET /v1/generations/{id}/events` with a token for the generation's owner.
    func eventsURL(for record: GenerationRecord) -> String? {
        let id = record.id.lowercasedString
        guard let token = try? token(generation: record.id, user: record.userID,
                                     expires: record.createdAt.addingTimeInterval(Self.lifetimeSeconds))
        else { return nil }
        return "/v1/generations/\(id)/events?token=\(token)"
    }

    /// How long a token for the caller's whole stream (`GET /v1/events`) is valid: long enough for
    /// a working day of automatic reconnects, short enough that a leaked URL soon stops working.
    static let userStreamLifetimeSeconds: TimeInterval = 12 * 3600

    /// A token that opens `GET /v1/events` for `user` until `expires`. Signed under its own label,
    /// so a generation's token never opens the user stream and the other way round.
    func userStreamToken(user: UUID, expires: Date) throws -> String {
        try sign(user: user, expires: expires, Self.userStreamMessage)
    }

    /// The user a user-stream token opens `GET /v1/events` for, or nil when it is malformed,
    /// forged, a generation's token, or expired.
    func user(inUserStreamToken token: String, now: Date) -> UUID? {
        verify(token, now: now, Self.userStreamMessage)
    }

    /// `<user id>.<expiry>.<HMAC of message(user, expiry)>`.
    private func sign(user: UUID, expires: Date, _ message: (UUID, Int64) -> [UInt8]) throws -> String {
        let expiry = Int64(expires.timeIntervalSince1970.rounded(.down))
        let mac = try HMACSHA256.mac(for: message(user, expiry), key: key)
        return "\(user.lowercasedString).\(expiry).\(Base64URL.encode(mac))"
    }

    /// The user of a well-formed, authentic, unexpired token whose MAC covers `message(user, expiry)`.
    private func verify(_ token: String, now: Date, _ message: (UUID, Int64) -> [UInt8]) -> UUID? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 256, parts.count == 3, let user = UUID(uuidString: String(parts[0])),
              parts[1].count <= 12, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let expiry = Int64(parts[1]),
              let mac = Base64URL.decode(String(parts[2])), mac.count == HMACSHA256.byteCount,
              (try? HMACSHA256.isValid(mac, for: message(user, expiry), key: key)) == true,
              Double(expiry) > now.timeIntervalSince1970
        else { return nil }
        return user
    }

    private static func userStreamMessage(_ user: UUID, _ expiry: Int64) -> [UInt8] {
        Array("user-events-v1|\(user.lowercasedString)|\(expiry)".utf8)
    }

    /// The signed text: fixed label, then fields that cannot run into each other (UUIDs and digits).
    private static func message(_ generation: UUID, _ user: UUID, _ expiry: Int64) -> [UInt8] {
        Array("generation-events-v1|\(generation.lowercasedString)|\(user.lowercasedString)|\(expiry)".utf8)
    }
}
