import Domain
import Foundation

/// `GET /v1/generations/{id}/events` and `GET /v1/events`: Server-Sent Events from a suspended
/// connection. The handler checks the caller and the resume point on the HTTP thread (one or two
/// indexed reads), then hands the connection a stream that the hub fills as events are written.
struct GenerationEventHandlers: Sendable {
    let store: any GenerationStore
    let hub: EventStreamHub
    let tokens: EventStreamTokens
    let authenticator: Authenticator
    /// Streams open per user (`EVENT_STREAMS_PER_USER`): each holds a connection slot of the
    /// server's few (`HTTP_MAX_CONNECTIONS`) for as long as its client likes.
    let openStreams: ConcurrencyLimit

    /// One generation's events; ends after its terminal event.
    func generationEvents(_ request: HTTPRequest) throws -> HTTPResponse {
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)) else { throw DomainError.notFound(resource: "generation") }
        let (userID, claims) = try caller(of: request, generation: id)
        // A position from the stream over many generations names an event too: its id is the cursor here.
        let cursor = try Self.cursor(request)?.eventID
        guard let generation = try store.get(id, claimsJSON: claims) else { throw DomainError.notFound(resource: "generation") }
        let scope = GenerationEventScope(generationID: id)
        // A resume after the terminal event: 204 is the one answer that stops EventSource from reconnecting.
        if let cursor, generation.status.isTerminal, try hub.log.events(scope, after: cursor, limit: 1, claimsJSON: claims).isEmpty {
            return HTTPResponse(status: 204)
        }
        return try open(scope, userID: userID, claims: claims, cursor: .id(cursor ?? 0))
    }

    /// Every event of the caller's generations (optionally one project's); stays open.
    func allEvents(_ request: HTTPRequest) throws -> HTTPResponse {
        let (userID, claims) = try userStreamCaller(of: request)
        var scope = GenerationEventScope()
        if let value = request.query["project_id"] {
            guard let project = UUID(uuidString: value) else {
                throw Problem.validation([FieldError(field: "project_id", code: "invalid_uuid", message: "Must be a UUID.")])
            }
            scope.projectID = project
        }
        let position: GenerationEventPosition
        switch try Self.cursor(request) {
        case nil: position = .start
        case .position(let resumed)?: position = resumed
        // A plain event id (from one generation's stream, or sent before positions existed).
        case .id(let id)?: position = try hub.log.position(afterEvent: id, claimsJSON: claims)
        }
        return try open(scope, userID: userID, claims: claims, cursor: .position(position))
    }

    /// `POST /v1/events/token`: an `events_url` for `GET /v1/events` that `EventSource` can open
    /// without an Authorization header. Minting needs a live session (a signed-out session's JWT
    /// may not outlive itself as a URL).
    func createUserStreamToken(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        let expires = Date().addingTimeInterval(EventStreamTokens.userStreamLifetimeSeconds).roundedDownToSeconds
        let token = try tokens.userStreamToken(user: identity.userID, expires: expires)
        return try .json(UserStreamTokenBody(eventsUrl: "/v1/events?token=\(token)", expiresAt: expires), status: 201)
    }

    private func open(_ scope: GenerationEventScope, userID: UUID, claims: String, cursor: EventStreamCursor) throws -> HTTPResponse {
        guard openStreams.acquire(userID) else {
            throw Problem(status: 429, code: "too_many_event_streams", title: "Too Many Requests",
                          detail: "At most \(openStreams.limit) event streams may be open at once for one user; close one "
                              + "(GET /v1/events carries every generation's events in one stream).",
                          headers: [("Retry-After", "5")])
        }
        let stream = ResponseStream()
        let openStreams = openStreams
        stream.onClose { openStreams.release(userID) }
        stream.write(Array(ServerSentEvents.preamble.utf8))
        EventStreamSession(userID: userID, scope: scope, claimsJSON: claims, cursor: cursor, stream: stream, hub: hub).open()
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-store"),
                                                   ("X-Accel-Buffering", "no")], stream: stream)
    }

    /// The `token` of an `events_url` (for `EventSource`), else the Bearer header (for `fetch`).
    private func caller(of request: HTTPRequest, generation: UUID) throws -> (UUID, String) {
        guard let token = request.query["token"] else {
            let identity = try authenticator.identity(of: request)
            return (identity.userID, identity.claimsJSON)
        }
        guard let user = tokens.user(in: token, generation: generation, now: Date()) else {
            throw Problem(status: 401, code: "invalid_events_token", title: "Unauthorized",
                          detail: "This events token is invalid, expired or for another generation; fetch the generation for a fresh events_url.",
                          headers: [("WWW-Authenticate", "Bearer")])
        }
        return (user, GenerationExecutor.claims(for: user))
    }

    /// The `token` of a user-stream `events_url`, else the Bearer header.
    private func userStreamCaller(of request: HTTPRequest) throws -> (UUID, String) {
        guard let token = request.query["token"] else {
            let identity = try authenticator.identity(of: request)
            return (identity.userID, identity.claimsJSON)
        }
        guard let user = tokens.user(inUserStreamToken: token, now: Date()) else {
            throw Problem(status: 401, code: "invalid_events_token", title: "Unauthorized",
                          detail: "This events token is invalid or expired; ask POST /v1/events/token for a fresh events_url.",
                          headers: [("WWW-Authenticate", "Bearer")])
        }
        return (user, GenerationExecutor.claims(for: user))
    }

    /// Where to resume: the `Last-Event-ID` header, else the `last_event_id` query parameter; an
    /// event id (digits) or a position from the stream over many generations (`<id>.<transaction>`).
    static func cursor(_ request: HTTPRequest) throws -> EventStreamCursor? {
        let field: String
        let text: String
        if let header = request.header("last-event-id"), !header.isEmpty {
            (field, text) = ("Last-Event-ID", header.trimmingCharacters(in: .whitespaces))
        } else if let query = request.query["last_event_id"] {
            (field, text) = ("last_event_id", query)
        } else {
            return nil
        }
        if let position = GenerationEventPosition(text: text) { return .position(position) }
        guard text.count <= 19, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(text) else {
            throw Problem.validation([FieldError(field: field, code: "invalid_event_id",
                                                 message: "Must be an id: line this API's event streams sent (digits, or digits.digits).")])
        }
        return .id(value)
    }
}

/// The answer of `POST /v1/events/token`.
struct UserStreamTokenBody: Encodable {
    let eventsUrl: String
    let expiresAt: Date
}

extension Date {
    /// Whole seconds, so the `expires_at` shown is exactly the expiry the token signs.
    fileprivate var roundedDownToSeconds: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
