import Foundation
import TestSupport

/// A raw-socket Server-Sent Events reader for tests: sends one GET, reads the head, then decodes
/// the chunked body incrementally into events, so a test sees exactly what a browser would.
final class SSEClient {
    struct Event: Equatable {
        let id: String?
        let name: String?
        let data: String
    }

    let status: Int
    let headers: [String: String]
    private(set) var retry: Int?
    private(set) var comments = 0
    /// True once the server ended the body (the last chunk) or closed the connection.
    private(set) var ended = false

    private let fd: Int32
    private var raw = Data()
    private var body = Data()

    init(port: Int, path: String, headers: [String: String] = [:], timeoutSeconds: Int = 15) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw TestSupportError("socket() failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = SocketCalls.connectToLoopback(fd, port: port)
        guard connected else { throw TestSupportError("connect failed") }
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        guard SocketCalls.sendAll(fd, Data(head.utf8)) else { throw TestSupportError("send failed: \(String(cString: strerror(errno)))") }
        let separator = Data("\r\n\r\n".utf8)
        var received = Data()
        var headEnd: Range<Data.Index>?
        while true {
            headEnd = received.range(of: separator)
            if headEnd != nil { break }
            guard Self.fill(fd, &received) else { throw TestSupportError("closed before a response head") }
        }
        guard let headEnd else { throw TestSupportError("no head") }
        let text = String(decoding: received[received.startIndex..<headEnd.lowerBound], as: UTF8.self)
        raw = Data(received[headEnd.upperBound...])
        var lines = text.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        status = statusLine.count >= 2 ? Int(statusLine[1]) ?? 0 : 0
        var parsed: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            parsed[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = parsed
        if status == 204 || parsed["transfer-encoding"]?.lowercased() != "chunked" {
            ended = parsed["transfer-encoding"] == nil && (parsed["content-length"] ?? "0") == "0"
        }
    }

    deinit { close(fd) }

    /// The body so far, for non-streamed answers (an error's problem JSON).
    func readWholeBody() -> String {
        if let length = headers["content-length"].flatMap(Int.init) {
            while raw.count < length, Self.fill(fd, &raw) {}
            return String(decoding: raw.prefix(length), as: UTF8.self)
        }
        return String(decoding: raw, as: UTF8.self)
    }

    /// Reads events until `stop` says so, the stream ends, or `timeout` passes.
    func events(timeout: Double = 15, until stop: ([Event]) -> Bool = { _ in false }) -> [Event] {
        var events: [Event] = []
        let deadline = Date().addingTimeInterval(timeout)
        while !stop(events), Date() < deadline {
            decodeChunks()
            if let event = nextEvent() { events.append(event); continue }
            if ended { break }
            if !Self.fill(fd, &raw) { ended = true }
        }
        return events
    }

    private func decodeChunks() {
        while let lineEnd = raw.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: raw[raw.startIndex..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first.map(String.init) ?? "", radix: 16) else { return }
            if size == 0 { ended = true; raw = Data(); return }
            let start = lineEnd.upperBound
            guard raw.count - (start - raw.startIndex) >= size + 2 else { return }
            body.append(raw[start..<(start + size)])
            raw = Data(raw[(start + size + 2)...])
        }
    }

    private func nextEvent() -> Event? {
        while let end = body.range(of: Data("\n\n".utf8)) {
            let block = String(decoding: body[body.startIndex..<end.lowerBound], as: UTF8.self)
            body = Data(body[end.upperBound...])
            var id: String?
            var name: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { comments += 1; continue }
                let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let field = String(parts[0])
                var value = parts.count > 1 ? String(parts[1]) : ""
                if value.hasPrefix(" ") { value.removeFirst() }
                switch field {
                case "id": id = value
                case "event": name = value
                case "data": data.append(value)
                case "retry": retry = Int(value)
                default: break
                }
            }
            if !data.isEmpty || name != nil { return Event(id: id, name: name, data: data.joined(separator: "\n")) }
        }
        return nil
    }

    private static func fill(_ fd: Int32, _ buffer: inout Data) -> Bool {
        SocketCalls.receive(fd, appendingTo: &buffer) > 0
    }
}
