/// A handler takes the request (with its path parameters filled in) and returns a response, or
/// throws a `Problem` or a domain error that the application maps to one.
typealias Handler = @Sendable (HTTPRequest) throws -> HTTPResponse

/// One row of the route table. `operationId` is the same name `openapi.yaml` gives the operation.
struct Route: Sendable {
    let method: String
    let template: String
    let operationId: String
    let handler: Handler
    fileprivate let segments: [Segment]

    init(_ method: String, _ template: String, _ operationId: String, _ handler: @escaping Handler) {
        self.method = method
        self.template = template
        self.operationId = operationId
        self.handler = handler
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
    let routes: [Route]

    init(_ routes: [Route]) {
        self.routes = routes
    }

    func match(method: String, path: String) -> RouteMatch {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        // A trailing slash is a different resource; "/" itself splits to one empty part.
        let pathParts = parts == [""] ? [] : parts
        var best: (route: Route, parameters: [String: String], literals: Int)?
        var allowed: [String] = []
        var bestForMethod: [String: Int] = [:]
        for route in routes {
            guard let (parameters, literals) = bind(route.segments, to: pathParts) else { continue }
            if (bestForMethod[route.method] ?? -1) < literals { bestForMethod[route.method] = literals }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                if best == nil || literals > best!.literals {
                    best = (route, parameters, literals)
                }
            }
        }
        if let best { return .found(best.route, parameters: best.parameters) }
        allowed = bestForMethod.keys.sorted()
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: allowed.sorted())
    }

    /// Methods a path accepts, for `Allow` and CORS preflight answers.
    func methods(for path: String) -> [String] {
        switch match(method: "\u{0}", path: path) {
        case .methodNotAllowed(let allowed): return allowed
        default: return []
        }
    }

    private func bind(_ segments: [Segment], to parts: [String]) -> ([String: String], Int)? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        var literals = 0
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text):
                guard text == part else { return nil }
                literals += 1
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = part
            }
        }
        return (parameters, literals)
    }
}
