import Foundation

/// `Range: bytes=…` on asset content (RFC 9110 §14). One range is answered 206 with that part;
/// several ranges, or a header that is not a valid bytes range, are ignored and the whole content
/// is answered 200 (which the RFC allows; multipart/byteranges is not offered). A range that
/// starts past the end, or an empty suffix, is unsatisfiable (416).
enum ByteRanges {
    enum Outcome: Equatable {
        case whole
        case part(offset: Int64, length: Int64)
        case unsatisfiable
    }

    static func evaluate(_ header: String?, size: Int64) -> Outcome {
        guard let header else { return .whole }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.count <= 200, trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let set = trimmed.dropFirst(6)
        guard !set.contains(",") else { return .whole }
        let parts = set.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingCharacters(in: .whitespaces)
        let last = parts[1].trimmingCharacters(in: .whitespaces)
        func number(_ text: String) -> Int64? {
            guard !text.isEmpty, text.count <= 18, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber) else { return nil }
            return Int64(text)
        }
        if first.isEmpty {
            // Suffix: the last n bytes.
            guard let suffix = number(last) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            let length = min(suffix, size)
            return .part(offset: size - length, length: length)
        }
        guard let start = number(first) else { return .whole }
        var end = size - 1
        if !last.isEmpty {
            guard let given = number(last), given >= start else { return .whole }
            end = min(given, size - 1)
        }
        guard start < size else { return .unsatisfiable }
        return .part(offset: start, length: end - start + 1)
    }
}
