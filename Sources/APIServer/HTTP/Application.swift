import Domain
import Foundation
import Persistence
import Synchronization

/// Everything between a complete HTTP request and its response: CORS, routing, content checks,
/// error mapping, the headers every response carries, the access log line and the metrics.
/// The transport calls `respond` once per request, on one of its own threads; a deferred route's
/// response is finished the same way on a work queue's thread and handed to `suspension`.
final class Application: Sendable {
    let router: Router
    let cors: CORSPolicy
    let logger: Logger
    let metrics: Metrics
    let maximumBodyBytes: Int
    /// Sees every finished response with its route label; set by the test server only, to record
    /// the responses the contract check compares with openapi.yaml.
    private let responseObserver = Mutex<(@Sendable (HTTPRequest, String, HTTPResponse) -> Void)?>(nil)
    /// Read on every response without the lock: only tests install an observer.
    private let observingResponses = Atomic<Bool>(false)

    /// Calls `observer` with every response (the contract tests record them).
    func observeResponses(_ observer: @escaping @Sendable (HTTPRequest, String, HTTPResponse) -> Void) {
        responseObserver.withLock { $0 = observer }
        observingResponses.store(true, ordering: .releasing)
    }

    /// Called after a request that may have changed what admissions read (`RecentQuoteReads`),
    /// before its response leaves: any write but those of `keepsAdmissionReads`.
    let afterWrite: (@Sendable () -> Void)?

    init(router: Router, cors: CORSPolicy, logger: Logger, metrics: Metrics, maximumBodyBytes: Int,
         afterWrite: (@Sendable () -> Void)? = nil) {
        self.router = router
        self.cors = cors
        self.logger = logger
        self.metrics = metrics
        self.maximumBodyBytes = maximumBodyBytes
        self.afterWrite = afterWrite
    }

    /// Writes that change nothing an admission reads (the project, the pricing version, the
    /// session, provider configurations, keys, budgets' limits): generations and their cancels,
    /// assets, and requests that write nothing. Their budget figures and the reports' health and
    /// rate observations are either decided by the database at each admission or may lag by the
    /// reuse's maximum age.
    /// Route templates by method (looked up without building a key on every request).
    static let keepsAdmissionReads: [String: Set<String>] = [
        "POST": ["/v1/chat/completions", "/v1/generations", "/v1/generations/{id}/cancel", "/v1/generations/batch",
                 "/v1/generations/batch/{id}/cancel", "/v1/quotes", "/v1/tokens/count", "/v1/costs", "/v1/events/token",
                 "/v1/assets", "/v1/assets/bulk", "/v1/assets/{id}/signed-url"],
        "PATCH": ["/v1/assets/{id}"],
        "DELETE": ["/v1/assets/{id}"],
    ]

    /// Whether a request to `routeLabel` may have changed what admissions read.
    static func mayChangeAdmissionReads(method: String, routeLabel: String) -> Bool {
        switch method {
        case "GET", "HEAD", "OPTIONS": return false
        default: return routeLabel != "unmatched" && keepsAdmissionReads[method]?.contains(routeLabel) != true
        }
    }

    /// What the transport knows about a request that never reaches a handler whole.
    enum Rejection {
        case bodyTooLarge
        /// The request began after the server started stopping.
        case shuttingDown
        case malformedQuery
    }

    /// Seconds a client is told to wait when the provider work queue is full.
    static let busyRetryAfterSeconds = 2

    /// The response, or nil when a deferred route took the request: the transport's connection
    /// was then suspended through `suspension`, which later receives the finished response.
    func respond(to request: HTTPRequest, rejection: Rejection? = nil, startedAt: UInt64,
                 suspension: any ResponseSuspension) -> HTTPResponse? {
        if let rejection {
            let problem: Problem
            switch rejection {
            case .bodyTooLarge: problem = .payloadTooLarge(limit: maximumBodyBytes)
            case .malformedQuery: problem = .malformedQuery()
            case .shuttingDown: problem = .shuttingDown()
            }
            return finish(unrouted(problem, request), to: request, routeLabel: "unmatched", startedAt: startedAt)
        }
        if request.method == "OPTIONS" {
            return finish(options(request), to: request, routeLabel: "preflight", startedAt: startedAt)
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return finish(Problem.notFound().response(requestID: request.requestID), to: request, routeLabel: "unmatched", startedAt: startedAt)
        case .methodNotAllowed(let allowed):
            return finish(unrouted(.methodNotAllowed(allowed: allowed), request), to: request, routeLabel: "unmatched", startedAt: startedAt)
        case .found(let route, let parameters):
            var request = request
            request.pathParameters = parameters
            switch route.action {
            case .immediate(let handler):
                return finish(invoke(route, request) { try handler(request) }, to: request, routeLabel: route.template, startedAt: startedAt)
            case .deferred(let handler):
                return start(route, handler, request, startedAt: startedAt, suspension: suspension)
            case .awaiting(let handler):
                return awaitSignal(route, handler, request, startedAt: startedAt, suspension: suspension)
            case .upload:
                // The transport opens upload routes itself (`openUpload`); this is not reached.
                return finish(Problem.internalError().response(requestID: request.requestID), to: request, routeLabel: route.template,
                              startedAt: startedAt)
            }
        }
    }

    /// The headers every response carries, the metrics and the access log line: applied once
    /// per request, on whichever thread the response was made.
    func finish(_ response: HTTPResponse, to request: HTTPRequest, routeLabel: String, startedAt: UInt64) -> HTTPResponse {
        var response = ConditionalGet.notModified(response, method: request.method, ifNoneMatch: request.header("if-none-match")) ?? response
        response.headers.reserveCapacity(response.headers.count + 6)
        response.headers.append(("X-Request-Id", request.requestID))
        response.headers.append(("X-Content-Type-Options", "nosniff"))
        // A response that carries its own CORS answer (a signed asset URL, open to any origin) keeps it.
        if request.method != "OPTIONS", response.header("Access-Control-Allow-Origin") == nil {
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
        let method = router.metricsLabel(method: request.method)
        metrics.record(method: method, route: routeLabel, status: response.status, seconds: seconds)
        if logger.minimumLevel <= .info {
            logger.info("request", [
            "method": .string(method), "route": .string(routeLabel), "status": .int(response.status),
            "duration_ms": .milliseconds(nanoseconds: nanoseconds), "bytes": .int(response.body.count),
            "request_id": .string(request.requestID),
            ])
        }
        if let afterWrite, Self.mayChangeAdmissionReads(method: request.method, routeLabel: routeLabel) { afterWrite() }
        if observingResponses.load(ordering: .acquiring) {
            responseObserver.withLock { $0 }?(request, routeLabel, response)
        }
        return response
    }

    /// Runs a handler step with the content check before it and error mapping after it.
    private func invoke(_ route: Route, _ request: HTTPRequest, _ body: () throws -> HTTPResponse) -> HTTPResponse {
        do {
            try checkContentType(request)
            return try body()
        } catch {
            return render(problem(for: error, request: request, operation: route.operationId), route, request)
        }
    }

    private func checkContentType(_ request: HTTPRequest) throws {
        if !request.body.isEmpty {
            let type = request.header("content-type")
            guard let type, Self.isJSON(type) else { throw Problem.unsupportedMediaType(request.header("content-type")) }
        }
    }

    /// A deferred route: the handler's quick checks run here; its work is queued only once the
    /// queue has promised room, and the connection is suspended before the work can finish.
    func start(_ route: Route, _ handler: DeferringHandler, _ request: HTTPRequest, startedAt: UInt64,
                       suspension: any ResponseSuspension) -> HTTPResponse? {
        let work: DeferredWork
        do {
            try checkContentType(request)
            work = try handler(request)
        } catch {
            let problem = problem(for: error, request: request, operation: route.operationId)
            return finish(render(problem, route, request), to: request, routeLabel: route.template, startedAt: startedAt)
        }
        guard let reservation = work.queue.reserve() else {
            work.finally()
            return finish(render(Problem.busy(retryAfterSeconds: Self.busyRetryAfterSeconds), route, request),
                          to: request, routeLabel: route.template, startedAt: startedAt)
        }
        suspension.suspend()
        reservation.run { [self] in
            let response: HTTPResponse
            do {
                response = try work.run()
            } catch {
                response = render(problem(for: error, request: request, operation: route.operationId), route, request)
            }
            work.finally()
            suspension.resume(with: finish(response, to: request, routeLabel: route.template, startedAt: startedAt))
        }
        return nil
    }

    /// An awaiting route: answered at once, or suspended until its signal fires or its deadline
    /// passes. No thread waits: the signaller's thread (or a timer's) makes and hands over the answer.
    private func awaitSignal(_ route: Route, _ handler: AwaitingHandler, _ request: HTTPRequest, startedAt: UInt64,
                       suspension: any ResponseSuspension) -> HTTPResponse? {
        let awaited: AwaitedResponse
        do {
            try checkContentType(request)
            awaited = try handler(request)
        } catch {
            let problem = problem(for: error, request: request, operation: route.operationId)
            return finish(render(problem, route, request), to: request, routeLabel: route.template, startedAt: startedAt)
        }
        switch awaited {
        case .now(let response):
            return finish(response, to: request, routeLabel: route.template, startedAt: startedAt)
        case .later(let signal, let deadline, let respond):
            suspension.suspend()
            let expiry = Deadlines.shared.schedule(after: deadline) { signal.expire() }
            signal.onFire { [self] signalled in
                if signalled { Deadlines.shared.cancel(expiry) }
                suspension.resume(with: finish(respond(signalled), to: request, routeLabel: route.template, startedAt: startedAt))
            }
            return nil
        }
    }

    /// A problem answered before any route ran, in the format of the routes at its path (the chat
    /// surface's clients read OpenAI's envelope, whatever stopped the request).
    private func unrouted(_ problem: Problem, _ request: HTTPRequest) -> HTTPResponse {
        router.problemRenderer(path: request.path)?(problem, request.requestID) ?? problem.response(requestID: request.requestID)
    }

    /// A route's error in the route's own format (problem+json unless it says otherwise).
    private func render(_ problem: Problem, _ route: Route, _ request: HTTPRequest) -> HTTPResponse {
        route.renderProblem?(problem, request.requestID) ?? problem.response(requestID: request.requestID)
    }

    /// OPTIONS: a CORS preflight gets the CORS answer; a plain OPTIONS gets `Allow`.
    private func options(_ request: HTTPRequest) -> HTTPResponse {
        let methods = router.methods(for: request.path)
        guard !methods.isEmpty else {
            // With CORS headers, so a browser's preflight of a wrong path shows the 404, not a CORS error.
            var response = Problem.notFound().response(requestID: request.requestID)
            response.headers.append(contentsOf: cors.responseHeaders(origin: request.header("origin")))
            return response
        }
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

    func problem(for error: any Error, request: HTTPRequest, operation: String) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as DomainError:
            return Problem(domain: error)
        case let error as AuthError:
            return Problem(auth: error)
        case let error as KeyVaultError:
            return Problem(vault: error)
        case let error as StorageQuotaExceeded:
            return AssetProblems.quotaExceeded(error)
        case let error as DatabaseError where error.sqlState == "42501":
            // A row-level security or privilege refusal: the caller is authenticated but not allowed.
            return Problem(status: 403, code: "forbidden", title: "Forbidden", detail: "You may not do this.")
        case let error as DatabaseError where error.sqlState == "23503":
            // A row that names a missing owner: user rows reference auth.users, and an access token
            // is trusted until `exp`, so a token that outlived its deleted account ends up here.
            return Problem(auth: .userNotFound)
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
        let mediaType = contentType.split(separator: ";").first?.trimmed(of: .whitespaces).lowercased() ?? ""
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
