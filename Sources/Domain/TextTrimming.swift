import Foundation

/// `trimmingCharacters(in:)` without its detour: on Linux it bridges to `NSString` and builds the
/// trimmed copy, which was about 2.5 % of a chat completion's CPU (the prompt checked once per
/// routing candidate, the content type once per request, the rate-limit headers once per answer).
/// These walk the Unicode scalars instead; the whitespace sets hold only scalars of the Basic
/// Multilingual Plane, so the result is the one `trimmingCharacters(in:)` gives.
extension StringProtocol {
    /// Whether every scalar is in `set` (true for empty text): `trimmingCharacters(in: set).isEmpty`.
    public func consists(of set: CharacterSet) -> Bool {
        unicodeScalars.allSatisfy { set.contains($0) }
    }
}

extension Substring {
    /// The text without its leading and trailing scalars in `set`: `trimmingCharacters(in: set)`.
    /// Cut by scalar, not by character, as Foundation cuts: a combining mark after a trimmed space stays.
    public func trimmed(of set: CharacterSet) -> Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !set.contains($0) }),
              let last = scalars.lastIndex(where: { !set.contains($0) }) else { return Substring() }
        return Substring(scalars[first...last])
    }
}

extension String {
    /// The text without its leading and trailing scalars in `set`: `trimmingCharacters(in: set)`.
    public func trimmed(of set: CharacterSet) -> Substring { self[...].trimmed(of: set) }
}
