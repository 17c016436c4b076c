/// cl100k_base's pre-tokenisation, written as a scanner over UTF-8 instead of a regex:
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// Alternatives are tried in order at each position and the first that matches wins (the
/// regex is leftmost-first, not longest). tiktoken 0.14 spells the same pattern with
/// possessive quantifiers and an extra `\s++$`; that only joins trailing whitespace after a
/// newline into one piece, and since no cl100k token contains a newline followed by other
/// whitespace, the tokens come out the same (the corpus comparison checks it).
struct Cl100kSplitter {
    let classes: ScalarClasses

    /// The end (exclusive byte offset) of the piece that starts at `start`; `start < count`.
    @inline(__always)
    func pieceEnd(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int) -> Int {
        let (first, firstLength) = Self.decode(text, start)
        let afterFirst = start + firstLength
        let firstClass = classes.classes(of: first)

        // (?i:'s|'t|'re|'ve|'m|'ll|'d) — case-insensitive with simple case folding, so the
        // long s (U+017F) counts as an s, as it does for the Rust regex engine.
        if first == 0x27, afterFirst < count {
            let (second, secondLength) = Self.decode(text, afterFirst)
            switch second {
            case 0x73, 0x53, 0x17F, 0x74, 0x54, 0x6D, 0x4D, 0x64, 0x44:  // s S ſ t T m M d D
                return afterFirst + secondLength
            case 0x72, 0x52, 0x76, 0x56, 0x6C, 0x4C:  // r R v V l L
                let afterSecond = afterFirst + secondLength
                if afterSecond < count {
                    let third = text[afterSecond] | 0x20  // ASCII lower-casing; only e and l are wanted
                    let wanted: UInt8 = (second | 0x20) == 0x6C ? 0x6C : 0x65
                    if third == wanted && text[afterSecond] < 0x80 { return afterSecond + 1 }
                }
            default:
                break
            }
        }

        // [^\r\n\p{L}\p{N}]?\p{L}+
        if firstClass & ScalarClasses.letter != 0 {
            return letters(text, afterFirst, count)
        }
        if firstClass & (ScalarClasses.newline | ScalarClasses.number) == 0, afterFirst < count {
            let (second, secondLength) = Self.decode(text, afterFirst)
            if classes.classes(of: second) & ScalarClasses.letter != 0 {
                return letters(text, afterFirst + secondLength, count)
            }
        }

        // \p{N}{1,3}
        if firstClass & ScalarClasses.number != 0 {
            var end = afterFirst
            for _ in 0..<2 where end < count {
                let (next, nextLength) = Self.decode(text, end)
                guard classes.classes(of: next) & ScalarClasses.number != 0 else { break }
                end += nextLength
            }
            return end
        }

        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var symbolStart = start
        if first == 0x20 { symbolStart = afterFirst }
        if symbolStart < count {
            var end = symbolStart
            while end < count {
                let (next, nextLength) = Self.decode(text, end)
                guard classes.classes(of: next) & (ScalarClasses.whitespace | ScalarClasses.letter | ScalarClasses.number) == 0 else { break }
                end += nextLength
            }
            if end > symbolStart {
                while end < count && (text[end] == 0x0A || text[end] == 0x0D) { end += 1 }
                return end
            }
        }

        // The first scalar is whitespace here: every scalar is a letter, a number, whitespace,
        // or one of the symbols above. Scan the whole run, noting its last newline.
        var end = start
        var lastScalarStart = start
        var afterLastNewline = -1
        while end < count {
            let (next, nextLength) = Self.decode(text, end)
            let nextClass = classes.classes(of: next)
            guard nextClass & ScalarClasses.whitespace != 0 else { break }
            lastScalarStart = end
            end += nextLength
            if nextClass & ScalarClasses.newline != 0 { afterLastNewline = end }
        }
        // \s*[\r\n]+ — greedy \s* backs off to the run's last newline.
        if afterLastNewline > 0 { return afterLastNewline }
        // \s+(?!\S) — the whole run at the end of text, else all but its last scalar, which
        // then starts the next piece (a space before a word joins the word).
        if end == count { return end }
        if lastScalarStart > start { return lastScalarStart }
        // \s+ — a single whitespace scalar before non-whitespace.
        return end
    }

    @inline(__always)
    private func letters(_ text: UnsafePointer<UInt8>, _ from: Int, _ count: Int) -> Int {
        var end = from
        while end < count {
            let byte = text[end]
            if byte < 0x80 {
                // ASCII fast path: only A–Z and a–z are letters.
                guard (byte | 0x20) &- 0x61 < 26 else { break }
                end += 1
                continue
            }
            let (next, nextLength) = Self.decode(text, end)
            guard classes.classes(of: next) & ScalarClasses.letter != 0 else { break }
            end += nextLength
        }
        return end
    }

    /// One scalar from valid UTF-8 (Swift strings always are).
    @inline(__always)
    static func decode(_ text: UnsafePointer<UInt8>, _ index: Int) -> (UInt32, Int) {
        let lead = UInt32(text[index])
        if lead < 0x80 { return (lead, 1) }
        if lead < 0xE0 {
            return ((lead & 0x1F) << 6 | UInt32(text[index + 1] & 0x3F), 2)
        }
        if lead < 0xF0 {
            return ((lead & 0x0F) << 12 | UInt32(text[index + 1] & 0x3F) << 6 | UInt32(text[index + 2] & 0x3F), 3)
        }
        return ((lead & 0x07) << 18 | UInt32(text[index + 1] & 0x3F) << 12 | UInt32(text[index + 2] & 0x3F) << 6
                | UInt32(text[index + 3] & 0x3F), 4)
    }
}
