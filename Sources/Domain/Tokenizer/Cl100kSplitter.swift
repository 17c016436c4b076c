/// cl100k_base's pre-tokenisation, written as a scanner over UTF-8 instead of a regex:
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// Alternatives are tried in order at each position and the first that matches wins (the
/// regex is leftmost-first, not longest). tiktoken 0.14 spells the same pattern with
/// possessive quantifiers and an extra `\s++$`; that only joins trailing whitespace after a
/// newline into one piece, and since no cl100k token contains a newline followed by other
/// whitespace, the tokens come out the same (the corpus comparison checks it).
struct Cl100kSplitter: PieceSplitter {
    let classes: ScalarClasses

    @inline(__always)
    func pieceEnd(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int) -> Int {
        let (first, firstLength) = PieceScanning.decode(text, start)
        let afterFirst = start + firstLength
        let firstClass = classes.classes(of: first)

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        let contraction = PieceScanning.contractionEnd(text, start, count)
        if contraction >= 0 { return contraction }

        // [^\r\n\p{L}\p{N}]?\p{L}+
        if firstClass & ScalarClasses.letter != 0 {
            return letters(text, afterFirst, count)
        }
        if firstClass & (ScalarClasses.newline | ScalarClasses.number) == 0, afterFirst < count {
            let (second, secondLength) = PieceScanning.decode(text, afterFirst)
            if classes.classes(of: second) & ScalarClasses.letter != 0 {
                return letters(text, afterFirst + secondLength, count)
            }
        }

        // \p{N}{1,3}
        if firstClass & ScalarClasses.number != 0 {
            return PieceScanning.digitsEnd(text, afterFirst, count, classes)
        }

        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let symbolStart = first == 0x20 ? afterFirst : start
        var end = PieceScanning.symbolsEnd(text, symbolStart, count, classes)
        if end > symbolStart {
            while end < count && (text[end] == 0x0A || text[end] == 0x0D) { end += 1 }
            return end
        }

        // The first scalar is whitespace here: every scalar is a letter, a number, whitespace,
        // or one of the symbols above.
        return PieceScanning.whitespaceEnd(text, start, count, classes)
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
            let (next, nextLength) = PieceScanning.decode(text, end)
            guard classes.classes(of: next) & ScalarClasses.letter != 0 else { break }
            end += nextLength
        }
        return end
    }
}
