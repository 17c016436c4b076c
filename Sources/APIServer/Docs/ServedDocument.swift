import Crypto
import Domain
import Foundation
import Synchronization

/// A document the server serves as is (the OpenAPI file, the reference page): a strong `ETag`
/// computed from its bytes at start-up, and the answer to a conditional GET.
///
/// The file stays open and each response reads its bytes from that descriptor as they are sent,
/// so the ~0.4 MB of the two documents are not held in memory by an idle server (BENCHMARKS.md,
/// "Footprint"). A file replaced on disk after start (a new file renamed over it, as a checkout
/// does) is still the open one: the bytes and tag stay those of the start. A file rewritten in
/// place is noticed by its size and modification time and hashed again, so the tag always names
/// the bytes sent; one rewritten while a response is being sent ends that response short (the
/// transport closes the connection), so no client keeps bytes under a tag that does not name them.
final class ServedDocument: Sendable {
    let contentType: String
    private let descriptor: Int32
    private let extraHeaders: [(String, String)]
    private let state: Mutex<State>

    private struct State {
        var etag: String
        var length: Int64
        var stamp: FileStamp
    }

    /// Public and the same for everyone, so shared caches may keep it; five minutes bounds how long
    /// a client sees the previous contract after a deployment.
    static let cacheControl = "public, max-age=300"

    /// Opens and hashes the file; throws (and keeps nothing open) when it cannot be read.
    init(path: String, contentType: String, extraHeaders: [(String, String)] = []) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ServedDocumentError.cannotRead(path) }
        do {
            let (etag, length, stamp) = try Self.measure(descriptor)
            state = Mutex(State(etag: etag, length: length, stamp: stamp))
        } catch {
            close(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.contentType = contentType
        self.extraHeaders = extraHeaders
    }

    deinit { close(descriptor) }

    /// `"sha256-<hex>"`: strong, so any change of a byte changes it.
    var etag: String { current().etag }

    /// The first `count` bytes (fewer if the file is shorter).
    func prefix(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = try bytes.withUnsafeMutableBytes { try Self.readFully(descriptor, into: $0, at: 0) }
        return Array(bytes[..<read])
    }

    /// 304 without a body when `If-None-Match` names the current tag (or is `*`), else 200 with the bytes.
    /// HEAD is routed here too; the transport sends its headers without the body.
    func respond(_ request: HTTPRequest) -> HTTPResponse {
        let (etag, length, stamp) = current()
        if let condition = request.header("if-none-match"), Self.matches(condition, etag: etag) {
            return HTTPResponse(status: 304, headers: [("ETag", etag), ("Cache-Control", Self.cacheControl)])
        }
        let descriptor = descriptor
        let body = BlobBody(read: { offset, count in
            var data = Data(count: count)
            let read = try data.withUnsafeMutableBytes { try Self.readFully(descriptor, into: $0, at: offset) }
            // Checked after the read: bytes read before a rewrite are those the tag names.
            guard try FileStamp(descriptor) == stamp else { throw ServedDocumentError.changedWhileSent }
            return data.prefix(read)
        }, offset: 0, length: length)
        return HTTPResponse(status: 200, headers: [("Content-Type", contentType), ("ETag", etag), ("Cache-Control", Self.cacheControl)]
                                + extraHeaders, blob: body)
    }

    /// RFC 9110 §13.1.2: `*`, or a comma-separated list compared weakly (`W/"x"` matches `"x"`).
    /// Anything that is not a well-formed tag simply matches nothing, so the client gets the document.
    static func matches(_ condition: String, etag: String) -> Bool {
        let trimmed = condition.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" { return true }
        return trimmed.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    /// The tag and length of the bytes the descriptor holds now: hashed again only when the file's
    /// size or modification time changed since the last hash.
    private func current() -> (etag: String, length: Int64, stamp: FileStamp) {
        state.withLock { state in
            if let stamp = try? FileStamp(descriptor), stamp != state.stamp, let measured = try? Self.measure(descriptor) {
                state = State(etag: measured.0, length: measured.1, stamp: measured.2)
            }
            return (state.etag, state.length, state.stamp)
        }
    }

    /// SHA-256 of the whole file, read 64 KiB at a time, as an ETag; its length and stamp.
    private static func measure(_ descriptor: Int32) throws -> (String, Int64, FileStamp) {
        let stamp = try FileStamp(descriptor)
        let digest = try SHA256Stream()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var length: Int64 = 0
        while true {
            let read = try buffer.withUnsafeMutableBytes { try readFully(descriptor, into: $0, at: length) }
            if read == 0 { break }
            try buffer.withUnsafeBytes { try digest.update(UnsafeRawBufferPointer(rebasing: $0[..<read])) }
            length += Int64(read)
        }
        return ("\"sha256-" + Hex.encode(try digest.finish()) + "\"", length, stamp)
    }

    /// `pread` until the buffer is full or the file ends; the number of bytes read.
    private static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let read = pread(descriptor, buffer.baseAddress.map { $0 + filled }, buffer.count - filled, off_t(offset) + off_t(filled))
            if read < 0 {
                if errno == EINTR { continue }
                throw ServedDocumentError.readFailed(errno)
            }
            if read == 0 { break }
            filled += read
        }
        return filled
    }
}

/// What tells an in-place rewrite of an open file: its size and modification time.
private struct FileStamp: Equatable {
    let size: Int64
    let seconds: Int
    let nanoseconds: Int

    init(_ descriptor: Int32) throws {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ServedDocumentError.readFailed(errno) }
        size = Int64(status.st_size)
        seconds = status.st_mtim.tv_sec
        nanoseconds = status.st_mtim.tv_nsec
    }
}

enum ServedDocumentError: Error {
    case cannotRead(String)
    case readFailed(Int32)
    /// Rewritten in place after its tag and length were sent.
    case changedWhileSent
}
