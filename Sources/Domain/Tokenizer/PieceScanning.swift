/// One pre-tokenisation pattern: where the piece that starts at a byte offset ends. The BPE
/// merges then run inside each piece independently.
protocol PieceSplitter: Sendable {
    /// The end (exclusive byte offset) of the piece that starts at `start`; `start < count`,
    /// and the result is greater than `start`.
    func pieceEnd(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int) -> Int
}

/// Scanning steps that cl100k's and o200k's patterns share.
enum PieceScanning {
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

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `start`: its end, or -1. Case-insensitive with simple
    /// case folding, so the long s (U+017F) counts as an s, as it does for the Rust regex engine.
    @inline(__always)
    static func contractionEnd(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int) -> Int {
        guard start + 1 < count, text[start] == 0x27 else { return -1 }
        let afterQuote = start + 1
        let (second, secondLength) = decode(text, afterQuote)
        switch second {
        case 0x73, 0x53, 0x17F, 0x74, 0x54, 0x6D, 0x4D, 0x64, 0x44:  // s S ſ t T m M d D
            return afterQuote + secondLength
        case 0x72, 0x52, 0x76, 0x56, 0x6C, 0x4C:  // r R v V l L
            let afterSecond = afterQuote + secondLength
            if afterSecond < count {
                let third = text[afterSecond] | 0x20  // ASCII lower-casing; only e and l are wanted
                let wanted: UInt8 = (second | 0x20) == 0x6C ? 0x6C : 0x65
                if third == wanted && text[afterSecond] < 0x80 { return afterSecond + 1 }
            }
            return -1
        default:
            return -1
        }
    }

    /// The last three alternatives of both patterns, `\s*[\r\n]+|\s+(?!\S)|\s+`, for a piece
    /// whose first scalar is whitespace. Scans the whole run, noting its last newline.
    @inline(__always)
    static func whitespaceEnd(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int, _ classes: ScalarClasses) -> Int {
        var end = start
        var lastScalarStart = start
        var afterLastNewline = -1
        while end < count {
            let (next, nextLength) = decode(text, end)
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

    /// `[^\s\p{L}\p{N}]+` from `start`: the end of the run (`start` if there is none).
    @inline(__always)
    static func symbolsEnd(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int, _ classes: ScalarClasses) -> Int {
        var end = start
        while end < count {
            let (next, nextLength) = decode(text, end)
            guard classes.classes(of: next) & (ScalarClasses.whitespace | ScalarClasses.letter | ScalarClasses.number) == 0 else { break }
            end += nextLength
        }
        return end
    }

    /// `\p{N}{1,3}` after a first number scalar that ends at `afterFirst`.
    @inline(__always)
    static func digitsEnd(_ text: UnsafePointer<UInt8>, _ afterFirst: Int, _ count: Int, _ classes: ScalarClasses) -> Int {
        var end = afterFirst
        for _ in 0..<2 where end < count {
            let (next, nextLength) = decode(text, end)
            guard classes.classes(of: next) & ScalarClasses.number != 0 else { break }
            end += nextLength
        }
        return end
    }
}
