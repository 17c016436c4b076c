import Foundation

/// Just enough XML for S3's answers (`<Error>`, `InitiateMultipartUploadResult`,
/// `ListBucketResult`): flat elements found by name, entities decoded. S3 sends neither CDATA
/// nor namespaced prefixes on these elements; callers bound the text's size before it gets here.
enum S3XML {
    /// The text of every `<tag>…</tag>` in order (an element with attributes is matched too).
    static func values(_ tag: String, in text: String) -> [String] {
        blocks(tag, in: text).map(decodeEntities)
    }

    static func first(_ tag: String, in text: String) -> String? {
        values(tag, in: text).first
    }

    /// The raw inner text of every `<tag>…</tag>`, entities left as they are (for nested reads).
    static func blocks(_ tag: String, in text: String) -> [String] {
        var result: [String] = []
        var rest = text[...]
        let close = "</\(tag)>"
        while let open = rest.range(of: "<\(tag)") {
            let after = rest[open.upperBound...]
            guard let first = after.first else { break }
            // `<Key>` must not match `<KeyCount>`: the name ends at `>`, `/` or white space.
            guard first == ">" || first == " " || first == "/" || first == "\n" || first == "\t" || first == "\r",
                  let tagEnd = after.firstIndex(of: ">") else {
                rest = after
                continue
            }
            if tagEnd > after.startIndex, after[after.index(before: tagEnd)] == "/" {  // `<Tag/>`: empty
                result.append("")
                rest = after[after.index(after: tagEnd)...]
                continue
            }
            let contentStart = after.index(after: tagEnd)
            guard let end = after[contentStart...].range(of: close) else { break }
            result.append(String(after[contentStart..<end.lowerBound]))
            rest = after[end.upperBound...]
        }
        return result
    }

    static func decodeEntities(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let tail = rest[amp...]
            guard let semicolon = tail.prefix(12).firstIndex(of: ";") else {
                out += "&"
                rest = tail.dropFirst()
                continue
            }
            let entity = tail[tail.index(after: amp)..<semicolon]
            if let decoded = decode(entity) {
                out.unicodeScalars.append(decoded)
            } else {
                out += tail[amp...semicolon]
            }
            rest = tail[tail.index(after: semicolon)...]
        }
        return out + rest
    }

    private static func decode(_ entity: Substring) -> Unicode.Scalar? {
        switch entity {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            guard entity.hasPrefix("#") else { return nil }
            let digits = entity.dropFirst()
            let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            return value.flatMap(Unicode.Scalar.init)
        }
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
