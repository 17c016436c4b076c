import Domain
import Foundation
import Providers
import Synchronization
import TestSupport

/// Counters shared by a fake's routes, for "fail the first time, then succeed" scenarios and
/// for polling state machines that advance one step per poll.
final class FakeCounters: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Counts a hit on `key` and returns the new count (1 on the first hit).
    func hit(_ key: String) -> Int {
        counts.withLock { counts in
            counts[key, default: 0] += 1
            return counts[key]!
        }
    }

    func count(_ key: String) -> Int { counts.withLock { $0[key] ?? 0 } }
}

/// Error injection by magic words in the prompt (providers.md §8).
enum Magic {
    static let rateLimited = "__429__"
    static let rateLimitedLong = "__429_long__"
    static let serverError = "__500__"
    static let serverErrorOnce = "__500_once__"
    static let overloaded = "__529__"
    static let quota = "__quota__"
    static let refuse = "__refuse__"
    static let slow = "__slow__"
    static let huge = "__huge__"
    static let close = "__close__"
    static let badJSON = "__bad_json__"
    static let badRequest = "__400__"
    static let fail = "__fail__"
}

enum FakeAssets {
    /// A valid 1×1 PNG.
    static let pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    static var png: Data { Data(base64Encoded: pngBase64)! }
    /// An ID3 tag and one MPEG-1 Layer III frame header: enough to look like an MP3.
    static let mp3 = Data([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0, 0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 400))
    /// An `ftyp` box: the start of an MP4.
    static let mp4 = Data([0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8)
        + [UInt8](repeating: 0x11, count: 2000))
}

extension FakeHTTPServer.Request {
    var json: WireJSON? { try? WireJSON.parse(body) }
}

extension WireJSON {
    /// For building fake responses from literals.
    static func text(_ value: WireJSON) -> String { value.jsonText }
}
