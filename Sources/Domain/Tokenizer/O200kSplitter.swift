/// o200k_base's pre-tokenisation (tiktoken's `o200k_base` pattern), written as a scanner over
/// UTF-8 instead of a regex. With P = `[^\r\n\p{L}\p{N}]`, Up = `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`,
/// Low = `[\p{Ll}\p{Lm}\p{Lo}\p{M}]` and C = `(?i:'s|'t|'re|'ve|'m|'ll|'d)`, the alternatives are
///
///     P?Up*Low+C? | P?Up+Low*C? | \p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
///
/// tried in order with backtracking semantics (leftmost-first, greedy): a capitalised or
/// lower-case word takes an optional leading symbol or space and a trailing contraction, an
/// all-capitals run is its own word, digits go in groups of up to three, and slashes join
/// the newlines after a symbol run. Unlike cl100k, combining marks are word characters here.
struct O200kSplitter: PieceSplitter {
    let classes: ScalarClasses

    @inline(__always)
    func pieceEnd(_ text: UnsafePointer<UInt8>, _ start: Int, _ count: Int) -> Int {
        let (first, firstLength) = PieceScanning.decode(text, start)
        let afterFirst = start + firstLength
        let firstClass = classes.classes(of: first)
        // P? is greedy: with the prefix first, then without it. Without it the word must start
        // at `start`, which only a letter or a mark can (a mark is both P and a word character).
        let prefixed = afterFirst < count
            && firstClass & (ScalarClasses.letter | ScalarClasses.number | ScalarClasses.newline) == 0
        let word = ScalarClasses.upperOrCaseless | ScalarClasses.lowerOrCaseless

        if prefixed {
            let end = lowerEndedWord(text, afterFirst, count)
            if end >= 0 { return end }
        }
        if firstClass & word != 0 {
            let end = lowerEndedWord(text, start, count)
            if end >= 0 { return end }
        }
        if prefixed {
            let end = upperStartedWord(text, afterFirst, count)
            if end >= 0 { return end }
        }
        if firstClass & word != 0 {
            let end = upperStartedWord(text, start, count)
            if end >= 0 { return end }
        }

        // \p{N}{1,3}
        if firstClass & ScalarClasses.number != 0 {
            return PieceScanning.digitsEnd(text, afterFirst, count, classes)
        }

        // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
        let symbolStart = first == 0x20 ? afterFirst : start
        var end = PieceScanning.symbolsEnd(text, symbolStart, count, classes)
        if end > symbolStart {
            while end < count && (text[end] == 0x0A || text[end] == 0x0D || text[end] == 0x2F) { end += 1 }
            return end
        }

        // Only whitespace is left: a letter or mark always starts a word above, a number a digit
        // group, anything else a symbol run.
        return PieceScanning.whitespaceEnd(text, start, count, classes)
    }

    /// `Up*Low+C?` at `from`: its end, or -1. Greedy `Up*` takes the whole run; if no `Low`
    /// follows, it gives back scalars until the one handed to `Low+` is in both classes, so
    /// the word ends after the run's last caseless letter or mark (then `Low+` stops at once,
    /// because what followed it in the run was upper case only).
    @inline(__always)
    private func lowerEndedWord(_ text: UnsafePointer<UInt8>, _ from: Int, _ count: Int) -> Int {
        var end = from
        var afterLastBoth = -1
        while end < count {
            let (next, nextLength) = PieceScanning.decode(text, end)
            let nextClass = classes.classes(of: next)
            guard nextClass & ScalarClasses.upperOrCaseless != 0 else { break }
            end += nextLength
            if nextClass & ScalarClasses.lowerOrCaseless != 0 { afterLastBoth = end }
        }
        let lowerEnd = run(of: ScalarClasses.lowerOrCaseless, text, end, count)
        let wordEnd: Int
        if lowerEnd > end {
            wordEnd = lowerEnd
        } else if afterLastBoth >= 0 {
            wordEnd = afterLastBoth
        } else {
            return -1
        }
        let contraction = PieceScanning.contractionEnd(text, wordEnd, count)
        return contraction >= 0 ? contraction : wordEnd
    }

    /// `Up+Low*C?` at `from`: its end, or -1 when no `Up` scalar is there.
    @inline(__always)
    private func upperStartedWord(_ text: UnsafePointer<UInt8>, _ from: Int, _ count: Int) -> Int {
        let upperEnd = run(of: ScalarClasses.upperOrCaseless, text, from, count)
        guard upperEnd > from else { return -1 }
        let wordEnd = run(of: ScalarClasses.lowerOrCaseless, text, upperEnd, count)
        let contraction = PieceScanning.contractionEnd(text, wordEnd, count)
        return contraction >= 0 ? contraction : wordEnd
    }

    /// The end of the run of scalars in `flag`'s class that starts at `from`.
    @inline(__always)
    private func run(of flag: UInt8, _ text: UnsafePointer<UInt8>, _ from: Int, _ count: Int) -> Int {
        var end = from
        while end < count {
            let byte = text[end]
            if byte < 0x80 {
                // ASCII fast path: the word classes hold only A–Z (upper) and a–z (lower).
                let isWordByte = flag == ScalarClasses.lowerOrCaseless ? byte &- 0x61 < 26 : byte &- 0x41 < 26
                guard isWordByte else { break }
                end += 1
                continue
            }
            let (next, nextLength) = PieceScanning.decode(text, end)
            guard classes.classes(of: next) & flag != 0 else { break }
            end += nextLength
        }
        return end
    }
}
