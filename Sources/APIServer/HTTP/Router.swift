/// A handler takes the request (with its path parameters filled in) and returns a response, or
/// throws a `Problem` or a domain error that the application maps to one.
typealias Handler = @Sendable (HTTPRequest) throws -> HTTPResponse

/// One row of the route table. `operationId` is the same name `openapi.yaml` gives the operation.
/// A class, so matching a request passes rows by reference instead of copying their fields.
final class Route: Sendable {
    enum Action: Sendable {
        /// Answers on the HTTP thread: quick work only (CPU, one database round trip or a few).
        case immediate(Handler)
        /// Answers later from a work queue; the transport suspends the connection meanwhile.
        case deferred(DeferringHandler)
        /// Answers now or once signalled (or at a deadline); the connection is suspended meanwhile.
        case awaiting(AwaitingHandler)
        /// Takes the body piece by piece as it arrives (StreamedUpload.swift), then finishes on a work queue.
        case upload(UploadHandler)
    }

    let method: String
    let template: String
    let operationId: String
    let action: Action
    /// How this route's errors are written; nil for problem+json. The OpenAI-compatible surface
    /// answers in OpenAI's error envelope, which its clients read.
    let renderProblem: (@Sendable (Problem, _ requestID: String) -> HTTPResponse)?
    fileprivate let segments: [Segment]

    convenience init(_ method: String, _ template: String, _ operationId: String, _ handler: @escaping Handler) {
        self.init(method, template, operationId, action: .immediate(handler))
    }

    convenience init(_ method: String, _ template: String, _ operationId: String, deferred handler: @escaping DeferringHandler) {
        self.init(method, template, operationId, action: .deferred(handler))
    }

    convenience init(_ method: String, _ template: String, _ operationId: String, awaiting handler: @escaping AwaitingHandler) {
        self.init(method, template, operationId, action: .awaiting(handler))
    }

    convenience init(_ method: String, _ template: String, _ operationId: String, upload handler: @escaping UploadHandler) {
        self.init(method, template, operationId, action: .upload(handler))
    }

    init(_ method: String, _ template: String, _ operationId: String, action: Action,
         renderProblem: (@Sendable (Problem, _ requestID: String) -> HTTPResponse)? = nil) {
        self.method = method
        self.template = template
        self.operationId = operationId
        self.action = action
        self.renderProblem = renderProblem
        self.segments = template.split(separator: "/", omittingEmptySubsequences: true).map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
    }
}

private enum Segment: Sendable {
    case literal(String)
    case parameter(String)
}

enum RouteMatch {
    case found(Route, parameters: [String: String])
    case methodNotAllowed(allowed: [String])
    case notFound
}

/// Matches method + path against the table. Literal segments win over parameters, so
/// `/v1/generations/batch` is never read as `/v1/generations/{id}`.
struct Router: Sendable {
    /// Routes by their number of path segments: a path is only compared with templates that
    /// have as many segments, which leaves a handful per request instead of the whole table.
    private let routesBySegmentCount: [[Route]]
    /// Templates without parameters by their exact path: most requests are answered by one
    /// hash lookup, and a template that is all literals always wins over one with parameters.
    private let literalRoutes: [String: [Route]]

    /// Methods the table serves (HEAD with GET, OPTIONS always): any other method is one metrics
    /// label, so a client cannot create label values at will.
    private let knownMethods: Set<String>

    init(_ routes: [Route]) {
        var methods = Set(routes.map(\.method))
        if methods.contains("GET") { methods.insert("HEAD") }
        methods.insert("OPTIONS")
        knownMethods = methods
        var groups = Array(repeating: [Route](), count: (routes.map(\.segments.count).max() ?? 0) + 1)
        for route in routes { groups[route.segments.count].append(route) }
        routesBySegmentCount = groups
        literalRoutes = Dictionary(grouping: routes.filter { !$0.template.utf8.contains(UInt8(ascii: "{")) }, by: \.template)
    }

    func match(method: String, path: String) -> RouteMatch {
        if let exact = literalRoutes[path] {
            if let route = exact.first(where: { $0.method == method }) ?? exact.first(where: { method == "HEAD" && $0.method == "GET" }) {
                return .found(route, parameters: [:])
            }
            // The path names a resource of its own (`/v1/generations/batch`): only its methods
            // apply, never those of a template whose parameter the literal happens to fit.
            var allowed = Set(exact.map(\.method))
            if allowed.contains("GET") { allowed.insert("HEAD") }
            return .methodNotAllowed(allowed: allowed.sorted())
        }
        let parts = Self.parts(of: path)
        guard parts.count < routesBySegmentCount.count else { return .notFound }
        let candidates = routesBySegmentCount[parts.count]
        var best: (route: Route, parameters: [String: String], literals: Int)?
        for route in candidates where route.method == method || (method == "HEAD" && route.method == "GET") {
            guard let (parameters, literals) = bind(route.segments, to: parts) else { continue }
            if best == nil || literals > best!.literals {
                best = (route, parameters, literals)
            }
        }
        if let best { return .found(best.route, parameters: best.parameters) }
        // No route for this method: the methods whose templates fit the path go in `Allow`.
        var allowed = Set<String>()
        for route in candidates where bind(route.segments, to: parts) != nil {
            allowed.insert(route.method)
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return .methodNotAllowed(allowed: allowed.sorted())
    }

    /// `method` when the table serves it anywhere, else `other`.
    func metricsLabel(method: String) -> String {
        knownMethods.contains(method) ? method : "other"
    }

    /// The problem format of the routes at `path` (any method), for a problem answered before one
    /// runs: the chat surface's OpenAI envelope for a 405 there, nil (problem+json) elsewhere.
    func problemRenderer(path: String) -> (@Sendable (Problem, _ requestID: String) -> HTTPResponse)? {
        if let exact = literalRoutes[path] { return exact.lazy.compactMap(\.renderProblem).first }
        let parts = Self.parts(of: path)
        guard parts.count < routesBySegmentCount.count else { return nil }
        return routesBySegmentCount[parts.count].lazy.filter { $0.renderProblem != nil && self.bind($0.segments, to: parts) != nil }
            .compactMap(\.renderProblem).first
    }

    /// Methods a path accepts, for `Allow` and CORS preflight answers.
    func methods(for path: String) -> [String] {
        switch match(method: "\u{0}", path: path) {
        case .methodNotAllowed(let allowed): return allowed
        default: return []
        }
    }

    /// The path's segments after its leading slash. A trailing slash is a different resource; "/"
    /// itself splits to one empty part, which is none.
    private static func parts(of path: String) -> ArraySlice<Substring.UTF8View> {
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        return parts.count == 1 && parts.first?.isEmpty == true ? [] : parts
    }

    private func bind(_ segments: [Segment], to parts: ArraySlice<Substring.UTF8View>) -> ([String: String], Int)? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        var literals = 0
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text):
                guard text.utf8.elementsEqual(part) else { return nil }
                literals += 1
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = String(Substring(part))
            }
        }
        return (parameters, literals)
    }
}
