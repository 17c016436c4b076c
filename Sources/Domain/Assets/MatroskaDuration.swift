import Foundation

/// WebM/Matroska duration: Segment ▸ Info ▸ Duration (a float, in TimecodeScale units, which
/// default to 1 ms = 1,000,000 ns). Walks the EBML header and the Segment's top-level elements
/// by their sizes, at most 64 of them, and reads the Info element (at most 64 KiB) whole; an Info
/// after the first Cluster or behind an unknown-size element is not looked for.
extension HeaderMetadata {
    static let ebmlHeaderID: Int64 = 0x1A45_DFA3
    static let segmentID: Int64 = 0x1853_8067
    static let infoID: Int64 = 0x1549_A966
    static let clusterID: Int64 = 0x1F43_B675
    static let timecodeScaleID: Int64 = 0x2A_D7B1
    static let durationID: Int64 = 0x4489
    static let maximumInfoBytes: Int64 = 64 * 1024

    static func matroskaDuration(size: Int64, _ read: Read) throws -> Int64? {
        guard let header = try ebmlElement(at: 0, read), header.id == ebmlHeaderID, let headerSize = header.size,
              let segment = try ebmlElement(at: header.dataStart + headerSize, read), segment.id == segmentID else { return nil }
        let end = segment.size.map { min(size, segment.dataStart + $0) } ?? size
        var offset = segment.dataStart
        for _ in 0..<64 where offset < end {
            guard let element = try ebmlElement(at: offset, read), element.id != clusterID, let elementSize = element.size else { return nil }
            if element.id == infoID {
                guard elementSize <= maximumInfoBytes else { return nil }
                return infoDuration(try read(element.dataStart, Int(elementSize)))
            }
            offset = element.dataStart + elementSize
        }
        return nil
    }

    struct EBMLElement {
        let id: Int64
        /// nil for "unknown size" (all value bits set), which live streams use.
        let size: Int64?
        let dataStart: Int64
    }

    private static func ebmlElement(at offset: Int64, _ read: Read) throws -> EBMLElement? {
        guard offset >= 0 else { return nil }
        let head = try read(offset, 12)
        guard let (id, idLength) = vint(head, at: 0, keepMarker: true, maxLength: 4),
              let (size, sizeLength) = vint(head, at: idLength, keepMarker: false, maxLength: 8) else { return nil }
        let allOnes = (Int64(1) << (7 * sizeLength)) - 1
        return EBMLElement(id: id, size: size == allOnes ? nil : size, dataStart: offset + Int64(idLength + sizeLength))
    }

    /// An EBML variable-length integer: its length is the position of the first set bit.
    static func vint(_ b: [UInt8], at i: Int, keepMarker: Bool, maxLength: Int) -> (Int64, Int)? {
        guard i >= 0, i < b.count, b[i] != 0 else { return nil }
        let length = b[i].leadingZeroBitCount + 1
        guard length <= maxLength, i + length <= b.count else { return nil }
        var value = Int64(keepMarker ? b[i] : b[i] & (0xFF >> length))
        for index in 1..<length { value = value << 8 | Int64(b[i + index]) }
        return (value, length)
    }

    /// Duration × TimecodeScale (ns) in ms, from the Info element's bytes.
    static func infoDuration(_ info: [UInt8]) -> Int64? {
        var scale: Int64 = 1_000_000
        var duration: Double?
        var i = 0
        while i < info.count {
            guard let (id, idLength) = vint(info, at: i, keepMarker: true, maxLength: 4),
                  let (size, sizeLength) = vint(info, at: i + idLength, keepMarker: false, maxLength: 8),
                  size <= Int64(info.count - i - idLength - sizeLength) else { return nil }
            let start = i + idLength + sizeLength
            let body = Array(info[start..<(start + Int(size))])
            if id == timecodeScaleID {
                guard (1...8).contains(body.count) else { return nil }
                let value = body.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                guard value > 0, value <= UInt64(Int64.max) else { return nil }
                scale = Int64(value)
            } else if id == durationID {
                let bits = body.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                switch body.count {
                case 4: duration = Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
                case 8: duration = Double(bitPattern: bits)
                default: return nil
                }
            }
            i = start + Int(size)
        }
        guard let duration, duration.isFinite, duration >= 0 else { return nil }
        let milliseconds = duration * Double(scale) / 1_000_000
        // Ten thousand years: beyond it the value is nonsense, and it must fit an Int64.
        guard milliseconds < 3.2e14 else { return nil }
        return Int64(milliseconds.rounded())
    }
}
