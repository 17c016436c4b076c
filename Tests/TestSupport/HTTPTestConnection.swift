import Foundation

/// A deliberately plain HTTP/1.1 client over one TCP socket, so tests control exactly what goes on
/// the wire (keep-alive reuse, oversized headers, chunked bodies) and see exactly what comes back.
public final class HTTPTestConnection {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: Data

        public init(status: Int, headers: [String: String], body: Data) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public func header(_ name: String) -> String? { headers[name.lowercased()] }
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw TestSupportError("body is not a JSON object: \(text)")
            }
            return object
        }
    }

    private let fd: Int32
    private var buffer = Data()

    public init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = SocketCalls.connectToLoopback(fd, port: port)
        // No close here: `deinit` runs for an object whose init throws after every property is set,
        // and closing twice could close a descriptor another thread (an MHD listener) has reused.
        guard connected else {
            throw TestSupportError("connect to 127.0.0.1:\(port) failed: \(String(cString: strerror(errno)))")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    public func send(_ data: Data) throws {
        guard SocketCalls.sendAll(fd, data) else { throw TestSupportError("send failed: \(String(cString: strerror(errno)))") }
    }

    public func send(_ text: String) throws { try send(Data(text.utf8)) }

    /// Sends one request and reads one response on this connection.
    public func request(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Data(head.utf8) + (body ?? Data()))
        return try readResponse(headRequest: method == "HEAD")
    }

    /// Reads one response; the body is framed by Content-Length, or runs to the connection's close.
    public func readResponse(headRequest: Bool = false) throws -> Response {
        let separator = Data("\r\n\r\n".utf8)
        while buffer.range(of: separator) == nil {
            guard try fill() else { throw TestSupportError("connection closed before a response head") }
        }
        let headEnd = buffer.range(of: separator)!
        let head = String(decoding: buffer[buffer.startIndex..<headEnd.lowerBound], as: UTF8.self)
        buffer = Data(buffer[headEnd.upperBound...])
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw TestSupportError("bad status line: \(head)") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        var body = Data()
        if headRequest || status == 204 || status == 304 {
            body = Data()
        } else if let length = headers["content-length"].flatMap(Int.init) {
            while buffer.count < length {
                guard try fill() else { throw TestSupportError("connection closed mid-body") }
            }
            body = Data(buffer.prefix(length))
            buffer = Data(buffer.dropFirst(length))
        } else {
            while try fill() {}
            body = buffer
            buffer = Data()
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// True when the server has closed its side (a read returns end-of-file).
    public func isClosedByPeer() -> Bool {
        (try? fill()) == false
    }

    private func fill() throws -> Bool {
        let count = SocketCalls.receive(fd, appendingTo: &buffer)
        if count > 0 { return true }
        if count == 0 { return false }
        throw TestSupportError("recv failed: \(String(cString: strerror(errno)))")
    }
}
