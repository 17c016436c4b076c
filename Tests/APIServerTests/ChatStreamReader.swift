import Foundation
import TestSupport

/// Reads a streamed chat answer as an OpenAI SDK does, event by event as the bytes arrive: one
/// socket, the chunked body decoded incrementally, each SSE event handed over as soon as its
/// blank line is in. A test can so stop after the first content chunk (while the provider still
/// holds the rest) or close the socket mid-stream.
final class ChatStreamReader {
    let status: Int
    let headers: [String: String]
    private let fd: Int32
    private var raw = Data()
    private var body = Data()
    /// The chunked body's last (empty) chunk arrived, or the connection closed.
    private(set) var bodyEnded = false

    init(port: Int, token: String, body json: [String: Any], headers extra: [String: String] = [:], timeoutSeconds: Int = 30) throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw TestSupportError("socket() failed") }
        fd = socketFD
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = SocketCalls.connectToLoopback(socketFD, port: port)
        let payload = try JSONSerialization.data(withJSONObject: json)
        var head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head += "Authorization: Bearer \(token)\r\nContent-Length: \(payload.count)\r\n"
        for (name, value) in extra { head += "\(name): \(value)\r\n" }
        let request = Data((head + "\r\n").utf8) + payload
        let sent = connected && SocketCalls.sendAll(socketFD, request)
        var buffer = Data()
        let separator = Data("\r\n\r\n".utf8)
        while sent, buffer.range(of: separator) == nil, SocketCalls.receive(socketFD, appendingTo: &buffer) > 0 {}
        var lines: [String] = []
        if let end = buffer.range(of: separator) {
            lines = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
            raw = Data(buffer[end.upperBound...])
        }
        let statusLine = lines.first?.split(separator: " ") ?? []
        status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        guard status > 0 else { throw TestSupportError("no response head (connected: \(connected), sent: \(sent))") }
        if headers["transfer-encoding"]?.lowercased() != "chunked" {
            // A plain answer (a refusal): its whole body, framed by Content-Length.
            let length = headers["content-length"].flatMap(Int.init) ?? 0
            while raw.count < length, try fill() {}
            body = raw
            raw = Data()
            bodyEnded = true
        }
    }

    deinit { close(fd) }

    /// Closes the socket: the client leaves mid-stream.
    func disconnect() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// The whole plain body (for a non-streamed answer).
    var plainBody: Data { body }

    /// The next SSE event's `data:` payload; nil once the body has ended.
    func nextData() throws -> String? {
        let separator = Data("\n\n".utf8)
        while true {
            if let range = body.range(of: separator) {
                let event = String(decoding: body[body.startIndex..<range.lowerBound], as: UTF8.self)
                body = Data(body[range.upperBound...])
                let data = event.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { $0.dropFirst(6) }.joined(separator: "\n")
                if data.isEmpty { continue }
                return data
            }
            if bodyEnded { return nil }
            try readChunk()
        }
    }

    /// Every remaining `data:` payload up to the body's end.
    func rest() throws -> [String] {
        var all: [String] = []
        while let data = try nextData() { all.append(data) }
        return all
    }

    /// Decodes one chunk of the chunked body (reading from the socket as needed).
    private func readChunk() throws {
        let crlf = Data("\r\n".utf8)
        while raw.range(of: crlf) == nil { guard try fill() else { bodyEnded = true; return } }
        guard let lineEnd = raw.range(of: crlf),
              let size = Int(String(decoding: raw[raw.startIndex..<lineEnd.lowerBound], as: UTF8.self)
                                .split(separator: ";").first ?? "", radix: 16) else {
            throw TestSupportError("bad chunk size line")
        }
        let start = lineEnd.upperBound - raw.startIndex
        while raw.count < start + size + 2 { guard try fill() else { bodyEnded = true; return } }
        if size == 0 {
            bodyEnded = true
            return
        }
        body.append(raw.subdata(in: (raw.startIndex + start)..<(raw.startIndex + start + size)))
        raw = Data(raw.dropFirst(start + size + 2))
    }

    private func fill() throws -> Bool {
        let count = SocketCalls.receive(fd, appendingTo: &raw)
        if count > 0 { return true }
        if count == 0 { return false }
        throw TestSupportError("recv failed: \(String(cString: strerror(errno)))")
    }
}
