import Crypto
import Domain
import Foundation

/// Signed content URLs: `GET /v1/assets/{id}/content?user=…&disposition=…&expires=…&signature=…`
/// works without a token until `expires`, for an `<img>` or `<video>` that cannot send an
/// Authorization header. The HMAC-SHA256 covers the asset, its owner, the disposition and the
/// expiry, under a key derived from `JWT_SECRET` with its own HKDF label (as events_url tokens),
/// so changing any of them, or the signature, makes the URL fail.
struct AssetURLSigner: Sendable {
    enum Disposition: String, Sendable, CaseIterable {
        case inline
        case attachment
    }

    /// The longest a signed URL may live: 7 days.
    static let maximumLifetimeSeconds = 7 * 24 * 3600

    private let key: SecretBytes

    init(secret: SecretBytes) throws {
        key = try HKDFSHA256.deriveKey(inputKeyMaterial: secret, salt: [UInt8](), info: Array("asset-content-url-v1".utf8),
                                       outputByteCount: SHA256.byteCount)
    }

    func url(asset: UUID, user: UUID, disposition: Disposition, expires: Int64) throws -> String {
        let mac = try HMACSHA256.mac(for: Self.message(asset, user, disposition, expires), key: key)
        return "/v1/assets/\(asset.lowercasedString)/content?user=\(user.lowercasedString)"
            + "&disposition=\(disposition.rawValue)&expires=\(expires)&signature=\(Base64URL.encode(mac))"
    }

    /// The owner and disposition a signed request's query grants for `asset`, or nil when
    /// anything is missing, altered or expired.
    func verify(asset: UUID, query: [String: String], now: Date) -> (user: UUID, disposition: Disposition)? {
        guard let user = query["user"].flatMap(UUID.init(uuidString:)),
              let disposition = query["disposition"].flatMap(Disposition.init(rawValue:)),
              let expiresText = query["expires"], expiresText.count <= 12, let expires = Int64(expiresText),
              let mac = query["signature"].flatMap(Base64URL.decode), mac.count == HMACSHA256.byteCount,
              (try? HMACSHA256.isValid(mac, for: Self.message(asset, user, disposition, expires), key: key)) == true,
              Double(expires) > now.timeIntervalSince1970
        else { return nil }
        return (user, disposition)
    }

    private static func message(_ asset: UUID, _ user: UUID, _ disposition: Disposition, _ expires: Int64) -> [UInt8] {
        Array("asset-content-v1|\(asset.lowercasedString)|\(user.lowercasedString)|\(disposition.rawValue)|\(expires)".utf8)
    }
}
