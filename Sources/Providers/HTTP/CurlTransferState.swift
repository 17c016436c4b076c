import CCurl
import Foundation

/// Per-transfer state that libcurl's C callbacks write into. It lives for one transfer
/// (`CurlEasyTransfer`), whose callbacks and result run on one thread: the caller's for a blocking
/// `curl_easy_perform`, the loop thread in `CurlMultiLoop`. It is reached from the callbacks
/// through the userdata pointer (http-layer.md 2.4), so it needs no locking.
final class CurlTransferState {
    let destinationPath: String?
    let maxBodyBytes: Int64
    /// Error bodies are read for their message; a megabyte is plenty and bounds a hostile one.
    static let maxErrorBodyBytes: Int64 = 1 << 20

    var status = 0
    var headers = HTTPHeaders()
    var body = Data()
    var bodyBytes: Int64 = 0
    var fileDescriptor: Int32 = -1
    var wroteToFile = false
    var abortedTooLarge = false
    var fileError: String?
    private var bodyDecided = false
    private var bodyToFile = false

    /// The request's `bodySink`: a successful body goes there instead of into `body`.
    let sink: (@Sendable (UnsafeRawBufferPointer) -> Bool)?
    /// The sink refused a piece (its reader found the stream malformed or too long).
    var sinkRefused = false
    /// A transfer limited to public addresses was about to connect to another (`PublicAddress`).
    var refusedAddress = false

    init(destinationPath: String?, maxBodyBytes: Int64, sink: (@Sendable (UnsafeRawBufferPointer) -> Bool)? = nil) {
        self.destinationPath = destinationPath
        self.maxBodyBytes = maxBodyBytes
        self.sink = sink
    }

    deinit {
        closeFile()
    }

    func closeFile() {
        if fileDescriptor >= 0 {
            close(fileDescriptor)
            fileDescriptor = -1
        }
    }

    /// Called once per header line, including the status line of every response in the exchange
    /// (a `100 Continue` or a redirect starts a new block).
    func receiveHeaderLine(_ line: UnsafeRawBufferPointer) {
        // Bytes, not `String.trimmingCharacters`: Foundation's trimming of every header line was
        // about 5 % of the server's CPU under chat load. HTTP's own whitespace is SP and HTAB; the
        // line ends in CRLF.
        let bytes = line.bindMemory(to: UInt8.self)
        var start = 0
        var end = bytes.count
        while start < end, Self.isSpace(bytes[start]) { start += 1 }
        while end > start, Self.isSpace(bytes[end - 1]) { end -= 1 }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[start..<end])
        if trimmed.starts(with: Self.statusPrefix) {
            status = Self.statusCode(in: trimmed)
            headers = HTTPHeaders()
            return
        }
        guard let colon = trimmed.firstIndex(of: UInt8(ascii: ":")) else { return }
        var nameEnd = colon
        while nameEnd > 0, Self.isSpace(trimmed[nameEnd - 1]) { nameEnd -= 1 }
        var valueStart = colon + 1
        while valueStart < trimmed.count, Self.isSpace(trimmed[valueStart]) { valueStart += 1 }
        headers.append(String(decoding: UnsafeBufferPointer(rebasing: trimmed[..<nameEnd]), as: UTF8.self),
                       String(decoding: UnsafeBufferPointer(rebasing: trimmed[valueStart...]), as: UTF8.self))
    }

    private static let statusPrefix = Array("HTTP/".utf8)

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }

    /// The code after the status line's first space (`HTTP/1.1 429 Too Many Requests`), or 0 when
    /// it is not a number of at most three digits.
    private static func statusCode(in line: UnsafeBufferPointer<UInt8>) -> Int {
        guard let space = line.firstIndex(of: 0x20) else { return 0 }
        var code = 0
        var digits = 0
        for byte in line[(space + 1)...] {
            if byte == 0x20 { break }
            guard (0x30...0x39).contains(byte), digits < 3 else { return 0 }
            code = code * 10 + Int(byte - 0x30)
            digits += 1
        }
        return digits == 0 ? 0 : code
    }

    /// Returns false to make libcurl abort the transfer.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if !bodyDecided {
            bodyDecided = true
            bodyToFile = destinationPath != nil && (200..<300).contains(status)
        }
        // A download's error body lands in memory, so it gets the small error limit, not the file's.
        let limit = bodyToFile || destinationPath == nil ? maxBodyBytes : min(maxBodyBytes, Self.maxErrorBodyBytes)
        if bodyBytes + Int64(bytes.count) > limit {
            abortedTooLarge = true
            return false
        }
        bodyBytes += Int64(bytes.count)
        if let sink, (200..<300).contains(status) {
            if !sink(bytes) { sinkRefused = true }
            return !sinkRefused
        }
        guard bodyToFile, let destinationPath else {
            body.append(contentsOf: bytes)
            return true
        }
        if fileDescriptor < 0 {
            fileDescriptor = open(destinationPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fileDescriptor >= 0 else {
                fileError = "cannot open output file: \(String(cString: strerror(errno)))"
                return false
            }
            wroteToFile = true
        }
        var offset = 0
        while offset < bytes.count {
            let written = write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                fileError = "cannot write output file: \(String(cString: strerror(errno)))"
                return false
            }
            offset += written
        }
        return true
    }

    /// A successful response with an empty body still owes the caller its (empty) file.
    func finishFile() {
        if let destinationPath, (200..<300).contains(status), !wroteToFile {
            let descriptor = open(destinationPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if descriptor >= 0 {
                close(descriptor)
                wroteToFile = true
            } else {
                fileError = "cannot create output file: \(String(cString: strerror(errno)))"
            }
        }
        closeFile()
    }
}

// libcurl's C callbacks. They are global functions (not closures) so they are nonisolated and
// capture nothing; the transfer state arrives through the userdata pointer.

func curlWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                       _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let userdata else { return 0 }
    let state = Unmanaged<CurlTransferState>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    return state.receiveBody(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

func curlHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                        _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let userdata else { return 0 }
    let state = Unmanaged<CurlTransferState>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return length }
    state.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
    return length
}
