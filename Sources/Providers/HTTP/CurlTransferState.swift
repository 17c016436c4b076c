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
    func receiveHeaderLine(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            let parts = trimmed.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = HTTPHeaders()
            return
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return }
        let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
        let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        headers.append(name, value)
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
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    state.receiveHeaderLine(line)
    return length
}
