import Foundation

/// A provider API key in plaintext, for the duration of one call.
///
/// Its `description` is the mask, never the key, so string interpolation into a log line or an
/// error message cannot leak it; code that needs the secret asks for `plaintext` by name.
public struct ProviderAPIKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let plaintext: String

    public init(_ plaintext: String) {
        self.plaintext = plaintext
    }

    /// `sk-…abcd`: enough for a person to recognise which key it is, too little to use it.
    public var masked: String {
        let characters = Array(plaintext)
        guard characters.count >= 12 else { return "…" }
        return String(characters.prefix(3)) + "…" + String(characters.suffix(4))
    }

    public var description: String { masked }
    public var debugDescription: String { "ProviderAPIKey(\(masked))" }
}
