import Domain
import Foundation
import Persistence
import Synchronization

/// Everything between a complete HTTP request and its response: CORS, routing, content checks,
/// error mapping, the headers every response carries, the access log line and the metrics.
/// The transport calls `respond` once per request, on one of its own threads.
final class Application: Sendable {
    let router: Router
    let cors: CORSPolicy
    let logger: Logger
    let metrics: Metrics
    let maximumBodyBytes: Int
    /// Sees every finished response with its route label; set by the test server only, to record
    /// the responses the contract check compares with openapi.yaml.
    let responseObserver = Mutex<(@Sendable (HTTPRequest, String, HTTPResponse) -> Void)?>(nil)

    init(router: Router, cors: CORSPolicy, logger: Logger, metrics: Metrics, maximumBodyBytes: Int) {
        self.router = router
        self.cors = cors
        self.logger = logger
        self.metrics = metrics
        self.maximumBodyBytes = maximumBodyBytes
    }

    /// What the transport knows about a request that never reaches a handler whole.
    enum Rejection {
        case bodyTooLarge
    }

    func respond(to request: HTTPRequest, rejection: Rejection? = nil, startedAt: UInt64) -> HTTPResponse {
        var routeLabel = "unmatched"
        var response: HTTPResponse
        if let rejection {
            switch rejection {
            case .bodyTooLarge:
                response = Problem.payloadTooLarge(limit: maximumBodyBytes).response(requestID: request.requestID)
            }
        } else {
            (response, routeLabel) = route(request)
        }
        response.headers.reserveCapacity(response.headers.count + 6)
        response.headers.append(("X-Request-Id", request.requestID))
        response.headers.append(("X-Content-Type-Options", "nosniff"))
        if request.method != "OPTIONS" {
            response.headers.append(contentsOf: cors.responseHeaders(origin: request.header("origin")))
        }
        if let version = request.header("x-supabase-api-version"), version.count <= 32 {
            response.headers.append(("X-Supabase-Api-Version", version))
        }
        if response.header("Cache-Control") == nil {
            response.headers.append(("Cache-Control", "no-store"))
        }
        let nanoseconds = DispatchTime.now().uptimeNanoseconds &- startedAt
        let seconds = Double(nanoseconds) / 1e9
        metrics.record(method: request.method, route: routeLabel, status: response.status, seconds: seconds)
        if logger.minimumLevel <= .info {
            logger.info("request", [
            "method": .string(request.method), "route": .string(routeLabel), "status": .int(response.status),
            "duration_ms": .milliseconds(nanoseconds: nanoseconds), "bytes": .int(response.body.count),
            "request_id": .string(request.requestID),
            ])
        }
        responseObserver.withLock { $0 }?(request, routeLabel, response)
        return response
    }

    private func route(_ request: HTTPRequest) -> (HTTPResponse, String) {
        if request.method == "OPTIONS" {
            return (options(request), "preflight")
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return (Problem.notFound().response(requestID: request.requestID), "unmatched")
        case .methodNotAllowed(let allowed):
            return (Problem.methodNotAllowed(allowed: allowed).response(requestID: request.requestID), "unmatched")
        case .found(let route, let parameters):
            var request = request
            request.pathParameters = parameters
            return (invoke(route, request), route.template)
        }
    }

    private func invoke(_ route: Route, _ request: HTTPRequest) -> HTTPResponse {
        do {
            if !request.body.isEmpty {
                let type = request.header("content-type")
                guard let type, Self.isJSON(type) else { throw Problem.unsupportedMediaType(request.header("content-type")) }
            }
            return try route.handler(request)
        } catch {
            return problem(for: error, request: request, operation: route.operationId).response(requestID: request.requestID)
        }
    }

    /// OPTIONS: a CORS preflight gets the CORS answer; a plain OPTIONS gets `Allow`.
    private func options(_ request: HTTPRequest) -> HTTPResponse {
        let methods = router.methods(for: request.path)
        guard !methods.isEmpty else { return Problem.notFound().response(requestID: request.requestID) }
        guard let origin = request.header("origin"), let requested = request.header("access-control-request-method") else {
            return HTTPResponse(status: 204, headers: [("Allow", (methods + ["OPTIONS"]).joined(separator: ", "))])
        }
        guard let headers = cors.preflight(origin: origin, requestedMethod: requested,
                                           requestedHeaders: request.header("access-control-request-headers"), pathMethods: methods)
        else {
            return Problem(status: 403, code: "cors_rejected", title: "Forbidden",
                           detail: "This origin, method or header set is not allowed by the CORS policy.")
                .response(requestID: request.requestID)
        }
        return HTTPResponse(status: 204, headers: headers)
    }

    private func problem(for error: any Error, request: HTTPRequest, operation: String) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as DomainError:
            return Problem(domain: error)
        case let error as AuthError:
            return Problem(auth: error)
        case let error as KeyVaultError:
            return Problem(vault: error)
        case let error as DatabaseError where error.sqlState == "42501":
            // A row-level security or privilege refusal: the caller is authenticated but not allowed.
            return Problem(status: 403, code: "forbidden", title: "Forbidden", detail: "You may not do this.")
        case let error as DatabaseError where error.isConnectionFailure:
            logger.warn("database unavailable", ["operation": .string(operation), "request_id": .string(request.requestID),
                                                 "error": .string(String(reflecting: error))])
            return .databaseUnavailable()
        default:
            // Full detail for operators only; the client sees a generic problem with the request id.
            logger.error("unhandled error", ["operation": .string(operation), "request_id": .string(request.requestID),
                                             "error": .string(String(reflecting: error))])
            return .internalError()
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}

extension Problem {
    init(domain error: DomainError) {
        switch error {
        case .validation(let errors):
            self = .validation(errors)
        case .notFound(let resource):
            self = Problem(status: 404, code: "not_found", title: "Not Found", detail: "No such \(resource).")
        case .conflict(let code, let detail):
            self = Problem(status: 409, code: code, title: "Conflict", detail: detail)
        case .preconditionFailed:
            self = Problem(status: 412, code: "precondition_failed", title: "Precondition Failed",
                           detail: "The resource changed since you read it; fetch it again and retry with the new ETag.")
        case .unavailable(let code, let detail):
            self = Problem(status: 503, code: code, title: "Service Unavailable", detail: detail, headers: [("Retry-After", "1")])
        }
    }
}

extension Problem {
    init(auth error: AuthError) {
        let titles = [400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 422: "Unprocessable Content", 429: "Too Many Requests"]
        var headers: [(String, String)] = []
        if case .rateLimited(let seconds) = error { headers.append(("Retry-After", String(seconds))) }
        if error.status == 401 { headers.append(("WWW-Authenticate", "Bearer")) }
        var reasons: [String]? = nil
        if case .weakPassword(let list, _) = error { reasons = list }
        self = Problem(status: error.status, code: error.code, title: titles[error.status] ?? "Error", detail: error.message,
                       headers: headers, weakPasswordReasons: reasons)
    }
}

extension HTTPRequest {
    /// Decodes the JSON body; malformed JSON or a wrong shape is a 400 `bad_json` that says where.
    func decodeBody<T: Decodable>(_ type: T.Type) throws -> T {
        guard !body.isEmpty else { throw Problem.badJSON("The request needs a JSON body.") }
        do {
            return try JSONCoding.decoder.decode(T.self, from: body)
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            throw Problem.badJSON("The body is not valid JSON.")
        } catch let error as DecodingError {
            throw Problem.badJSON(Self.describe(error))
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "Missing field \(path(context.codingPath + [key]))."
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "Field \(path(context.codingPath)) must be \(type)."
        case .dataCorrupted(let context):
            return "Field \(path(context.codingPath)) is invalid."
        @unknown default:
            return "The body does not have the expected shape."
        }
    }
}
