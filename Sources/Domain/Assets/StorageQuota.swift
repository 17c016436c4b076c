import Foundation

/// How many bytes of assets one user may keep (the sum of their assets' sizes; thumbnails are not
/// counted, and identical bytes kept twice count twice). Uploads past it are refused, and new
/// generations once it is reached; the outputs of a generation already admitted are always kept,
/// since its provider may have billed them, so a user can pass the quota by what is in flight.
public struct StorageQuota: Sendable, Equatable {
    /// Nil: no quota.
    public let bytes: Int64?

    public static let none = StorageQuota(bytes: nil)

    public init(bytes: Int64?) {
        self.bytes = bytes
    }

    /// What may still be added to `used`; nil without a quota.
    public func room(used: Int64) -> Int64? {
        bytes.map { $0 > used ? $0 - used : 0 }
    }

    /// Refuses `adding` bytes more (none: any more at all) when they would not fit.
    public func check(used: Int64, adding: Int64 = 0) throws {
        guard let bytes, let room = room(used: used) else { return }
        guard adding > 0 ? adding <= room : room > 0 else {
            throw StorageQuotaExceeded(used: used, quota: bytes, adding: adding > 0 ? adding : nil)
        }
    }
}

/// A user's stored assets are at (or `adding` would take them past) their quota.
public struct StorageQuotaExceeded: Error, Equatable, Sendable {
    public let used: Int64
    public let quota: Int64
    public let adding: Int64?

    public init(used: Int64, quota: Int64, adding: Int64?) {
        self.used = used
        self.quota = quota
        self.adding = adding
    }
}
