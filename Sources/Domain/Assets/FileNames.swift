import Foundation

/// Client-supplied file names, made safe to store and to echo in `Content-Disposition`. They are
/// labels only: no path is ever built from them.
public enum FileNames {
    public static let maximumLength = 255

    /// The last path component without control characters, NUL, separators, quotes or leading dots;
    /// nil when nothing is left.
    public static func sanitised(_ raw: String) -> String? {
        let lastComponent = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var kept = String.UnicodeScalarView()
        for scalar in lastComponent.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) { continue }
            if ["\"", ":", "*", "?", "<", ">", "|", ";"].contains(Character(scalar)) { continue }
            // Bidirectional overrides and isolates make a name display as something else.
            if (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) { continue }
            kept.append(scalar)
        }
        var name = String(kept).trimmingCharacters(in: .whitespaces)
        while name.hasPrefix(".") { name.removeFirst() }
        name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return nil }
        // Scalars, as the database counts characters.
        if name.unicodeScalars.count > maximumLength { name = String(String.UnicodeScalarView(name.unicodeScalars.prefix(maximumLength))) }
        return name
    }

    /// An ASCII stand-in for `filename=` (non-ASCII becomes `_`); `filename*` carries the real one.
    public static func asciiFallback(_ name: String) -> String {
        String(name.unicodeScalars.map { $0.isASCII && $0 != "\\" && $0 != "%" ? Character($0) : "_" })
    }
}
