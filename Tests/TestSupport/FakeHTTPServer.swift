import Foundation
import Synchronization

/// A small, real HTTP/1.1 server on 127.0.0.1 for tests: a thread per connection, keep-alive,
/// every request recorded, and answers chosen by a route closure, including the broken ones
/// (late, stalled mid-body, cut off, endless) that a provider client must survive.
public final class FakeHTTPServer: Sendable {
    public struct Request: Sendable {
        public let method: String
        /// Path and query as sent (`/v1/tasks/abc?x=1`).
        public let target: String
        public let headers: [(name: String, value: String)]
        public let body: Data
        /// `http://127.0.0.1:<port>`, so routes can hand out URLs that point back here.
        public let baseURL: String
        /// The connection's sequence number (1 = first accepted), to observe keep-alive.
        public let connection: Int

        public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }

        public var query: [String: String] {
            guard let components = URLComponents(string: "http://x" + target) else { return [:] }
            var result: [String: String] = [:]
            for item in components.queryItems ?? [] { result[item.name] = item.value ?? "" }
            return result
        }

        public func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Response: Sendable {
        public enum Mode: Sendable {
            case normal
            /// Sends the headers and `after` bytes of the body, then goes silent for `seconds`.
            case stallMidBody(after: Int, seconds: Double)
            /// Closes the connection without answering.
            case closeAbruptly
            /// Sends the body in `pieces` parts `interval` seconds apart (a slow, steady stream).
            case paced(pieces: Int, interval: Double)
            /// Streams `bytes` bytes of filler; with `declareLength` false there is no
            /// Content-Length, so only a client-side running count can stop it.
            case oversized(bytes: Int, declareLength: Bool)
        }

        public var status: Int
        public var headers: [(String, String)]
        public var body: Data
        /// Seconds to wait before answering at all.
        public var delay: Double
        public var mode: Mode

        public init(status: Int, headers: [(String, String)] = [], body: Data = Data(), delay: Double = 0,
                    mode: Mode = .normal) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.mode = mode
        }

        public static func json(_ status: Int, _ text: String, headers: [(String, String)] = []) -> Response {
            Response(status: status, headers: [("Content-Type", "application/json")] + headers, body: Data(text.utf8))
        }

        public static func bytes(_ status: Int, _ data: Data, contentType: String, headers: [(String, String)] = []) -> Response {
            Response(status: status, headers: [("Content-Type", contentType)] + headers, body: data)
        }

        public static func empty(_ status: Int, headers: [(String, String)] = []) -> Response {
            Response(status: status, headers: headers)
        }
    }

    public typealias Handler = @Sendable (Request) -> Response

    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    private let handler: Handler
    private let state = Mutex(State())

    private struct State {
        var requests: [Request] = []
        var connections = 0
        var openSockets: Set<Int32> = []
        var stopped = false
    }

    public init(handler: @escaping Handler) throws {
        self.handler = handler
        (listener, port) = try listenOnLoopback(backlog: 128)
        let server = self
        Thread.detachNewThread { server.acceptLoop() }
    }

    deinit {
        stop()
    }

    /// Every request received so far, in arrival order.
    public var requests: [Request] { state.withLock { $0.requests } }

    /// Connections accepted so far.
    public var connectionCount: Int { state.withLock { $0.connections } }

    public func clearRequests() {
        state.withLock { $0.requests.removeAll() }
    }

    public func stop() {
        // Under the lock: a serving thread removes its socket under the same lock before it
        // closes it, so a socket shut down here has not been closed and its number reused.
        let first = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.stopped = true
            for socket in state.openSockets { shutdown(socket, Int32(SHUT_RDWR)) }
            return true
        }
        if first { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            let number = state.withLock { state -> Int? in
                guard !state.stopped else { return nil }
                state.connections += 1
                state.openSockets.insert(client)
                return state.connections
            }
            guard let number else {
                close(client)
                break
            }
            var timeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let server = self
            Thread.detachNewThread { server.serve(client, number: number) }
        }
        close(listener)
    }

    private func serve(_ socket: Int32, number: Int) {
        defer {
            state.withLock { _ = $0.openSockets.remove(socket) }
            close(socket)
        }
        var reader = SocketReader(socket: socket)
        while let request = reader.readRequest(baseURL: baseURL, connection: number) {
            state.withLock { $0.requests.append(request) }
            let response = handler(request)
            if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
            guard write(response, to: socket) else { return }
            if request.header("connection")?.lowercased() == "close" { return }
        }
    }

    /// Returns false when the connection must end after this response.
    private func write(_ response: Response, to socket: Int32) -> Bool {
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        switch response.mode {
        case .normal:
            head += "Content-Length: \(response.body.count)\r\n\r\n"
            return send(Data(head.utf8) + response.body, on: socket)
        case let .stallMidBody(after, seconds):
            head += "Content-Length: \(response.body.count)\r\n\r\n"
            _ = send(Data(head.utf8) + response.body.prefix(after), on: socket)
            Thread.sleep(forTimeInterval: seconds)
            return false
        case .closeAbruptly:
            return false
        case let .paced(pieces, interval):
            head += "Content-Length: \(response.body.count)\r\n\r\n"
            guard send(Data(head.utf8), on: socket) else { return false }
            let size = max(1, (response.body.count + max(1, pieces) - 1) / max(1, pieces))
            var offset = response.body.startIndex
            while offset < response.body.endIndex {
                if offset > response.body.startIndex { Thread.sleep(forTimeInterval: interval) }
                let end = min(response.body.endIndex, offset + size)
                guard send(response.body[offset..<end], on: socket) else { return false }
                offset = end
            }
            return true
        case let .oversized(bytes, declareLength):
            head += declareLength ? "Content-Length: \(bytes)\r\n\r\n" : "Connection: close\r\n\r\n"
            guard send(Data(head.utf8), on: socket) else { return false }
            let chunk = Data(repeating: UInt8(ascii: "x"), count: 64 * 1024)
            var sent = 0
            while sent < bytes, send(chunk.prefix(bytes - sent), on: socket) { sent += chunk.count }
            return false
        }
    }

    private func send(_ data: Data, on socket: Int32) -> Bool {
        SocketCalls.sendAll(socket, data)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 302: "Found"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 422: "Unprocessable Entity"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 529: "Site Overloaded"
        default: "Status"
        }
    }
}

/// Reads HTTP/1.1 requests (headers, then a Content-Length body) from a blocking socket.
private struct SocketReader {
    let socket: Int32
    var buffer = [UInt8]()

    init(socket: Int32) {
        self.socket = socket
    }

    mutating func fill() -> Bool {
        SocketCalls.receive(socket, appendingTo: &buffer) > 0
    }

    mutating func readRequest(baseURL: String, connection: Int) -> FakeHTTPServer.Request? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            if let found = find(separator) { headerEnd = found; break }
            guard fill() else { return nil }
        }
        guard let headerEnd else { return nil }
        let headText = String(decoding: buffer[0..<headerEnd], as: UTF8.self)
        buffer.removeFirst(headerEnd + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        while buffer.count < length {
            guard fill() else { return nil }
        }
        let body = Data(buffer[0..<length])
        buffer.removeFirst(length)
        return FakeHTTPServer.Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers,
                                      body: body, baseURL: baseURL, connection: connection)
    }

    func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for start in 0...(buffer.count - pattern.count) where buffer[start] == pattern[0] {
            if Array(buffer[start..<start + pattern.count]) == pattern { return start }
        }
        return nil
    }
}
