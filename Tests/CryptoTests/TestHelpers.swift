import Crypto
import XCTest

/// Bytes from a hex string as printed in the standards; spaces and newlines are ignored so that
/// vectors can be copied in the standards' own grouping.
func hex(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") })
    precondition(digits.count % 2 == 0, "odd hex length")
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var index = 0
    while index < digits.count {
        guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
            preconditionFailure("bad hex digit in test vector")
        }
        out.append(byte)
        index += 2
    }
    return out
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

extension SecretBytes {
    /// Tests only: the protected bytes as an array, to compare with a vector.
    var revealed: [UInt8] { withUnsafeBytes { Array($0) } }
}

/// Asserts that `body` throws exactly `expected`.
func assertThrows<E: Error & Equatable, T>(
    _ body: @autoclosure () throws -> T, _ expected: E,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        XCTAssertEqual(error as? E, expected, "threw \(error)", file: file, line: line)
    }
}

/// A deterministic generator so that a failing fuzz case can be replayed (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    static func random(count: Int, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
