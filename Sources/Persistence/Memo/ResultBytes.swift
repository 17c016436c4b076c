import Foundation

/// The exact bytes of some rows of a result, as one flat image a memo keeps beside what it decoded
/// from them: a later result whose rows have the same image decodes to the same values, so the
/// remembered ones may stand in for decoding it. Each value is its length as 4 bytes, little endian
/// (all ones for NULL), then its bytes.
enum ResultBytes {
    private static let null: UInt32 = .max

    static func image(of result: PostgresRowText, rows: Range<Int>) -> [UInt8] {
        var image: [UInt8] = []
        image.reserveCapacity(rows.count * result.columnCount * 24)
        for row in rows {
            for column in 0..<result.columnCount {
                result.withValue(row: row, column: column) { value in
                    let length = value.map { UInt32(truncatingIfNeeded: $0.count) } ?? null
                    withUnsafeBytes(of: length.littleEndian) { image.append(contentsOf: $0) }
                    if let value { image.append(contentsOf: value) }
                }
            }
        }
        return image
    }

    /// Whether `rows` of `result` have exactly `image`: every value, its length and its NULL-ness.
    static func matches(_ image: [UInt8], _ result: PostgresRowText, rows: Range<Int>) -> Bool {
        image.withUnsafeBufferPointer { image in
            guard let base = image.baseAddress else { return rows.isEmpty || result.columnCount == 0 }
            var offset = 0
            for row in rows {
                for column in 0..<result.columnCount {
                    let same = result.withValue(row: row, column: column) { value -> Bool in
                        guard offset + 4 <= image.count else { return false }
                        let length = UInt32(image[offset]) | UInt32(image[offset + 1]) << 8 | UInt32(image[offset + 2]) << 16
                            | UInt32(image[offset + 3]) << 24
                        offset += 4
                        guard let value else { return length == null }
                        guard length == UInt32(truncatingIfNeeded: value.count), offset + value.count <= image.count else { return false }
                        defer { offset += value.count }
                        guard let actual = value.baseAddress else { return true }   // empty
                        return memcmp(base + offset, actual, value.count) == 0
                    }
                    if !same { return false }
                }
            }
            return offset == image.count
        }
    }
}
