@testable import APIServer
import Domain
import Foundation
import Persistence
import Synchronization
import TestSupport
import XCTest

/// `GET /v1/generations/{id}/events` and `GET /v1/events` over real HTTP, read the way a browser's
/// EventSource reads them: whole history, resume rules, events_url tokens, CORS, many open streams.
final class GenerationEventStreamTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private var project = ""

    override func setUpWithError() throws {
        server = try TestServer()
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("events@example.com").accessToken
        project = try XCTUnwrap(try server.createProject(["name": "Streams"], token: token)["id"] as? String)
    }

    override func tearDown() {
        server.stop()
    }

    private func generate(wait: Int? = nil) throws -> [String: Any] {
        let response = try server.generate(["project_id": project, "type": "text", "prompt": "A lighthouse at dusk"], token: token, wait: wait)
        XCTAssertTrue([200, 202].contains(response.status), response.text)
        return try response.json()
    }

    private func stream(_ path: String, headers: [String: String] = [:], bearer: Bool = true) throws -> SSEClient {
        var all = headers
        if bearer { all["Authorization"] = "Bearer \(token)" }
        return try SSEClient(port: server.port, path: path, headers: all)
    }

    private static let terminal: Set<String> = ["succeeded", "failed", "canceled", "expired"]

    func testALocalGenerationStreamsToItsTerminalEventAndTheServerCloses() throws {
        let id = try XCTUnwrap(try generate()["id"] as? String)
        let client = try stream("/v1/generations/\(id)/events")
        XCTAssertEqual(client.status, 200)
        XCTAssertEqual(client.headers["content-type"], "text/event-stream; charset=utf-8")
        let events = client.events(timeout: 20)
        XCTAssertTrue(client.ended, "the server ends the stream after the terminal event")
        XCTAssertEqual(client.retry, ServerSentEvents.retryMilliseconds)
        XCTAssertEqual(events.first?.name, "queued")
        XCTAssertEqual(events.last?.name, "succeeded")
        XCTAssertTrue(events.map(\.name).contains("started"))
        XCTAssertFalse(events.contains { $0.name == "error" })
        let ids = events.compactMap { $0.id.flatMap(Int64.init) }
        XCTAssertEqual(ids.count, events.count, "every event has a numeric id")
        XCTAssertEqual(ids, ids.sorted())
        XCTAssertEqual(Set(ids).count, ids.count)
        let data = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(events.last).data.utf8)) as? [String: Any])
        XCTAssertEqual(data["generation_id"] as? String, id)
        XCTAssertEqual(data["type"] as? String, "succeeded")
        XCTAssertNotNil(data["payload"] as? [String: Any])
    }

    func testALateConnectionGetsTheWholeHistoryIncludingTheTerminalEvent() throws {
        let id = try XCTUnwrap(try generate(wait: 30)["id"] as? String)
        XCTAssertEqual(try server.finished(id, token: token)["status"] as? String, "succeeded")
        let events = try stream("/v1/generations/\(id)/events").events()
        XCTAssertEqual(events.first?.name, "queued")
        XCTAssertEqual(events.last?.name, "succeeded")
    }

    func testResumingWithLastEventIDGetsExactlyTheRestByHeaderAndByQuery() throws {
        let id = try XCTUnwrap(try generate(wait: 30)["id"] as? String)
        let all = try stream("/v1/generations/\(id)/events").events()
        XCTAssertGreaterThanOrEqual(all.count, 3, "queued, started, succeeded")
        let cut = try XCTUnwrap(all.first?.id)
        let byHeader = try stream("/v1/generations/\(id)/events", headers: ["Last-Event-ID": cut]).events()
        XCTAssertEqual(byHeader, Array(all.dropFirst()))
        let byQuery = try stream("/v1/generations/\(id)/events?last_event_id=\(cut)").events()
        XCTAssertEqual(byQuery, Array(all.dropFirst()))
    }

    func testAResumeAfterTheTerminalEventGets204() throws {
        let id = try XCTUnwrap(try generate(wait: 30)["id"] as? String)
        let all = try stream("/v1/generations/\(id)/events").events()
        let last = try XCTUnwrap(all.last)
        XCTAssertTrue(Self.terminal.contains(last.name ?? ""))
        let resumed = try stream("/v1/generations/\(id)/events", headers: ["Last-Event-ID": try XCTUnwrap(last.id)])
        XCTAssertEqual(resumed.status, 204)
    }

    func testTheEventsURLTokenWorksWithoutAuthorizationAndATokenForAnotherGenerationIsRefused() throws {
        let first = try generate(wait: 30)
        let second = try generate(wait: 30)
        let url = try XCTUnwrap(first["events_url"] as? String)
        XCTAssertFalse(url.contains(token), "never the JWT in a URL")
        let viaToken = try stream(url, bearer: false)
        XCTAssertEqual(viaToken.status, 200)
        XCTAssertEqual(viaToken.events().last?.name, "succeeded")

        let fetched = try server.get("/v1/generations/\(try XCTUnwrap(first["id"] as? String))", token: token).json()
        XCTAssertNotNil(fetched["events_url"] as? String)

        let otherToken = try XCTUnwrap(URLComponents(string: try XCTUnwrap(second["events_url"] as? String))?
            .queryItems?.first { $0.name == "token" }?.value)
        let forged = try stream("/v1/generations/\(try XCTUnwrap(first["id"] as? String))/events?token=\(otherToken)", bearer: false)
        XCTAssertEqual(forged.status, 401)
        XCTAssertTrue(forged.readWholeBody().contains("invalid_events_token"))

        let intruder = try server.signUp("intruder@example.com").accessToken
        let foreign = try SSEClient(port: server.port, path: "/v1/generations/\(try XCTUnwrap(first["id"] as? String))/events",
                                    headers: ["Authorization": "Bearer \(intruder)"])
        XCTAssertEqual(foreign.status, 404, "another user's generation does not exist for them")
    }

    func testTheUserStreamTokenOpensOnlyTheUserStreamWithoutAuthorization() throws {
        let minted = try server.post("/v1/events/token", [:], token: token)
        XCTAssertEqual(minted.status, 201, minted.text)
        let url = try XCTUnwrap(try minted.json()["events_url"] as? String)
        XCTAssertTrue(url.hasPrefix("/v1/events?token="), url)
        XCTAssertFalse(url.contains(token), "never the JWT in a URL")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let expiresText = try XCTUnwrap(try minted.json()["expires_at"] as? String)
        let expires = try XCTUnwrap(formatter.date(from: expiresText), expiresText)
        XCTAssertEqual(expires.timeIntervalSinceNow, 12 * 3600, accuracy: 60)

        let client = try stream(url + "&project_id=\(project)", bearer: false)
        XCTAssertEqual(client.status, 200)
        let generation = try generate()
        let id = try XCTUnwrap(generation["id"] as? String)
        let events = client.events(timeout: 20) { $0.contains { $0.name == "succeeded" && Self.generationID($0) == id } }
        XCTAssertTrue(events.contains { $0.name == "succeeded" && Self.generationID($0) == id }, "\(events)")

        // Neither kind of token opens the other kind of stream; an altered one opens nothing.
        let userToken = String(url.dropFirst("/v1/events?token=".count))
        let generationToken = try XCTUnwrap(URLComponents(string: try XCTUnwrap(generation["events_url"] as? String))?
            .queryItems?.first { $0.name == "token" }?.value)
        var tampered = Array(userToken)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
        for path in ["/v1/events?token=\(generationToken)", "/v1/generations/\(id)/events?token=\(userToken)",
                     "/v1/events?token=\(String(tampered))"] {
            let refused = try stream(path, bearer: false)
            XCTAssertEqual(refused.status, 401, path)
            XCTAssertTrue(refused.readWholeBody().contains("invalid_events_token"), path)
        }

        // A signed-out session cannot mint one.
        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: token).status, 204)
        let afterLogout = try server.post("/v1/events/token", [:], token: token)
        XCTAssertEqual(afterLogout.status, 403, afterLogout.text)
        XCTAssertEqual(try afterLogout.json()["code"] as? String, "session_not_found")
        XCTAssertEqual(try server.post("/v1/events/token", [:], token: nil).status, 401)
    }

    func testCORSHeadersAreOnA401EventsResponseAndOnAPreflightOfAnUnknownPath() throws {
        let origin = "https://app.example.com"
        let refused = try SSEClient(port: server.port, path: "/v1/generations/\(UUID().uuidString.lowercased())/events",
                                    headers: ["Origin": origin])
        XCTAssertEqual(refused.status, 401)
        XCTAssertEqual(refused.headers["access-control-allow-origin"], origin)
        let refusedUserStream = try SSEClient(port: server.port, path: "/v1/events", headers: ["Origin": origin])
        XCTAssertEqual(refusedUserStream.status, 401)
        XCTAssertEqual(refusedUserStream.headers["access-control-allow-origin"], origin)

        let preflight = try HTTPTestConnection(port: server.port).request("OPTIONS", "/v1/no-such-path", headers: [
            "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "last-event-id"])
        XCTAssertEqual(preflight.status, 404)
        XCTAssertEqual(preflight.header("access-control-allow-origin"), origin)

        let eventsPreflight = try HTTPTestConnection(port: server.port).request("OPTIONS", "/v1/events", headers: [
            "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization, last-event-id"])
        XCTAssertEqual(eventsPreflight.status, 204)
        XCTAssertTrue(eventsPreflight.header("access-control-allow-headers")?.contains("last-event-id") == true)
    }

    func testTheUserStreamCarriesEveryGenerationAndResumesAfterAnID() throws {
        let client = try stream("/v1/events?project_id=\(project)")
        XCTAssertEqual(client.status, 200)
        let first = try XCTUnwrap(try generate()["id"] as? String)
        let second = try XCTUnwrap(try generate()["id"] as? String)
        let events = client.events(timeout: 20) { events in
            Set(events.filter { $0.name == "succeeded" }.compactMap { Self.generationID($0) }) == [first, second]
        }
        XCTAssertEqual(Set(events.filter { $0.name == "succeeded" }.compactMap { Self.generationID($0) }), [first, second])
        let positions = events.compactMap { $0.id.flatMap(GenerationEventPosition.init(text:)) }
        XCTAssertEqual(positions.count, events.count, "every id: line is a position")
        XCTAssertEqual(positions, positions.sorted(), "one order")
        XCTAssertEqual(Set(positions).count, positions.count)
        let cut = try XCTUnwrap(events.first?.id)
        let resumed = try stream("/v1/events", headers: ["Last-Event-ID": cut]).events(timeout: 10) { $0.count >= events.count - 1 }
        XCTAssertEqual(resumed, Array(events.dropFirst()))
        // A plain event id (as one generation's stream sends it) resumes at that event's place.
        let plainID = try XCTUnwrap(cut.split(separator: ".").first.map(String.init))
        XCTAssertEqual(plainID, try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(events.first).data.utf8)) as? [String: Any])["id"]
                        .map { "\($0)" })
        let byPlainID = try stream("/v1/events?last_event_id=\(plainID)").events(timeout: 10) { $0.count >= events.count - 1 }
        XCTAssertEqual(byPlainID, Array(events.dropFirst()))
        // One that names no event of this user's resumes after everything already written.
        let pastEverything = try SSEClient(port: server.port, path: "/v1/events?last_event_id=\(Int64.max / 2)",
                                           headers: ["Authorization": "Bearer \(token)"], timeoutSeconds: 2)
        XCTAssertEqual(pastEverything.status, 200)
        XCTAssertEqual(pastEverything.events(timeout: 1), [])
        for malformed in ["1.", ".1", "1.2.3", "1.18446744073709551616", "-1", "1e3"] {
            XCTAssertEqual(try stream("/v1/events", headers: ["Last-Event-ID": malformed]).status, 422, malformed)
        }
    }

    /// A plain id from before positions existed (events written then have transaction 0 and keep id
    /// order) resumes after that id even when its event is gone with its generation: what came after
    /// it is still sent, as it was when the stream went by id alone.
    func testAPlainIDFromBeforePositionsWhoseEventIsGoneStillResumesAfterIt() throws {
        let gone = try XCTUnwrap(try generate(wait: 20)["id"] as? String)
        let kept = try XCTUnwrap(try generate(wait: 20)["id"] as? String)
        let pool = server.environment.pool
        try pool.withServiceRole { try $0.query("update public.generation_events set tx = '0'") }
        let all = try stream("/v1/events").events(timeout: 10) { $0.filter { $0.name == "succeeded" }.count == 2 }
        let cut = try XCTUnwrap(all.last { Self.generationID($0) == gone }?.id.flatMap(GenerationEventPosition.init(text:)))
        XCTAssertEqual(cut.transaction, 0)
        try pool.withServiceRole { try $0.query("delete from public.generations where id = \(try XCTUnwrap(UUID(uuidString: gone)))") }
        let resumed = try stream("/v1/events?last_event_id=\(cut.id)").events(timeout: 10) { $0.last?.name == "succeeded" }
        XCTAssertEqual(Set(resumed.compactMap { Self.generationID($0) }), [kept])
        XCTAssertEqual(resumed, all.filter { Self.generationID($0) == kept && ($0.id.flatMap(GenerationEventPosition.init(text:))?.id ?? 0) > cut.id })
        XCTAssertFalse(resumed.isEmpty)
    }

    func testTwoHundredOpenStreamsHoldNoThreadAndHealthzStaysFast() throws {
        server.stop()
        server = try TestServer(environment: ["EVENT_STREAMS_PER_USER": "200"])
        token = try server.signUp("many-streams@example.com").accessToken
        let before = Self.threadCount()
        // User streams resumed past every event: open, idle, each waiting on a suspended connection.
        var clients: [SSEClient] = []
        for _ in 0..<200 { clients.append(try stream("/v1/events", headers: ["Last-Event-ID": "\(Int64.max / 2)"])) }
        XCTAssertEqual(clients.filter { $0.status == 200 }.count, 200)
        XCTAssertEqual(server.environment.generations.eventHub.openStreams, 200)
        let started = Date()
        let health = try HTTPTestConnection(port: server.port).request("GET", "/healthz")
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(health.status, 200)
        XCTAssertLessThan(seconds, 0.5, "healthz answers while 200 streams are open")
        XCTAssertLessThan(Self.threadCount() - before, 20, "no thread per stream")
    }

    /// A user's open streams are capped (each holds one of the server's few connection slots for
    /// as long as its client likes); one that closes gives its place back.
    func testAUserHoldsAtMostTheirShareOfOpenStreams() throws {
        server.stop()
        server = try TestServer(environment: ["EVENT_STREAMS_PER_USER": "2", "HTTP_CONNECTION_TIMEOUT_SECONDS": "3"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("capped-streams@example.com").accessToken
        let resumed = ["Last-Event-ID": "\(Int64.max / 2)"]
        var clients = [try stream("/v1/events", headers: resumed), try stream("/v1/events", headers: resumed)]
        XCTAssertEqual(clients.map(\.status), [200, 200])
        let refused = try stream("/v1/events", headers: resumed)
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(refused.headers["retry-after"], "5")
        XCTAssertTrue(refused.readWholeBody().contains("too_many_event_streams"))
        // One generation's stream counts alike.
        project = try XCTUnwrap(try server.createProject(["name": "Capped"], token: token)["id"] as? String)
        let generation = try XCTUnwrap(try generate(wait: 30)["id"] as? String)
        let refusedOne = try stream("/v1/generations/\(generation)/events")
        XCTAssertEqual(refusedOne.status, 429)
        XCTAssertTrue(refusedOne.readWholeBody().contains("too_many_event_streams"))
        let other = try server.signUp("other-streams@example.com").accessToken
        XCTAssertEqual(try SSEClient(port: server.port, path: "/v1/events", headers: resumed.merging(["Authorization": "Bearer \(other)"]) { $1 }).status,
                       200, "another user's streams are not counted against this one")
        // A client that leaves is found by the next heartbeat (a second here), and its place is free again.
        clients.removeFirst()
        var reopened = 0
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let again = try stream("/v1/events", headers: resumed)
            reopened = again.status
            if reopened == 200 { clients.append(again); break }
            Thread.sleep(forTimeInterval: 0.3)
        }
        XCTAssertEqual(reopened, 200)
    }

    func testEventsWrittenByAnotherProcessReachAnOpenStreamThroughThePoll() throws {
        // Written through a store of its own, as a worker process would: nothing here notifies the hub.
        let session = try server.signUp("worker-events@example.com")
        let projectID = try XCTUnwrap(UUID(uuidString: try XCTUnwrap(
            try server.createProject(["name": "Elsewhere"], token: session.accessToken)["id"] as? String)))
        let claims = GenerationExecutor.claims(for: try XCTUnwrap(UUID(uuidString: session.userID)))
        let otherProcess = PostgresGenerationStore(pool: server.environment.pool)
        let id = UUID()
        _ = try otherProcess.create(NewGeneration(id: id, projectID: projectID, kind: .text, prompt: "p", settings: GenerationSettings(),
                                                  requestedProvider: nil, requestedModel: nil, candidates: [], estimate: .zero,
                                                  maxCost: nil, pricingVersion: "v"),
                                    leaseOwner: "elsewhere", leaseSeconds: 60, claimsJSON: claims)
        let client = try SSEClient(port: server.port, path: "/v1/generations/\(id.uuidString.lowercased())/events",
                                   headers: ["Authorization": "Bearer \(session.accessToken)"])
        XCTAssertEqual(client.events(timeout: 5) { $0.count == 1 }.map(\.name), ["queued"])
        XCTAssertNotNil(try otherProcess.advance(id, to: .running, changes: GenerationChanges(), event: GenerationEvent("started"), claimsJSON: claims))
        XCTAssertNotNil(try otherProcess.advance(id, to: .failed, changes: GenerationChanges(errorCode: "x"), event: GenerationEvent("failed", ["code": "x"]),
                                                 claimsJSON: claims))
        let started = Date()
        let rest = client.events(timeout: 10)
        XCTAssertEqual(rest.map(\.name), ["started", "failed"])
        XCTAssertTrue(client.ended)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "found by the once-a-second poll")
    }

    /// Event ids are taken when a row is written, but transactions commit in their own order. Here
    /// the transaction holding the lower id commits last, seconds after the other: the stream over
    /// many generations holds the later event back while the older transaction runs, then sends
    /// both, oldest transaction first. (When it sent events once they were a second old, it sent the
    /// later one, moved its cursor past both ids, and never sent the other.)
    func testAnEventWhoseTransactionCommitsLateIsHeldBackNotSkipped() throws {
        server.stop()
        // Heartbeats every second, so the client can wait on an idle stream.
        server = try TestServer(environment: ["HTTP_CONNECTION_TIMEOUT_SECONDS": "3"])
        let session = try server.signUp("late-commit@example.com")
        let user = try XCTUnwrap(UUID(uuidString: session.userID))
        let projectID = try XCTUnwrap(UUID(uuidString: try XCTUnwrap(
            try server.createProject(["name": "Late"], token: session.accessToken)["id"] as? String)))
        let pool = server.environment.pool
        let generation = UUID()
        _ = try PostgresGenerationStore(pool: pool).create(
            NewGeneration(id: generation, projectID: projectID, kind: .text, prompt: "p", settings: GenerationSettings(), requestedProvider: nil,
                          requestedModel: nil, candidates: [], estimate: .zero, maxCost: nil, pricingVersion: "v"),
            leaseOwner: "elsewhere", leaseSeconds: 60, claimsJSON: GenerationExecutor.claims(for: user))
        let client = try SSEClient(port: server.port, path: "/v1/events", headers: ["Authorization": "Bearer \(session.accessToken)"])
        XCTAssertEqual(client.events(timeout: 5) { $0.count == 1 }.map(\.name), ["queued"])

        @Sendable func insert(_ step: String) -> SQL {
            "insert into public.generation_events (user_id, generation_id, type, payload) values (\(user), \(generation), 'progress', \(#"{"step":""# + step + #""}"#)::jsonb)"
        }
        let written = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), committed = DispatchSemaphore(value: 0)
        let lateFailure = Mutex<String?>(nil)
        Thread.detachNewThread {
            do {
                try pool.withServiceRole { transaction in
                    try transaction.query(insert("late"))
                    written.signal()
                    release.wait()
                }
            } catch {
                lateFailure.withLock { $0 = String(describing: error) }
                written.signal()
            }
            committed.signal()
        }
        written.wait()
        try pool.withServiceRole { try $0.query(insert("early")) }
        // Longer than the second (and the half second's second look) the stream used to wait.
        let whileRunning = client.events(timeout: 2.5)
        XCTAssertEqual(whileRunning.map(\.name), [], "held back while a transaction older than it runs")
        release.signal()
        committed.wait()
        XCTAssertNil(lateFailure.withLock { $0 })
        let afterCommit = client.events(timeout: 5) { $0.count == 2 }
        let steps = try afterCommit.map { event -> String in
            let data = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
            return (data["payload"] as? [String: Any])?["step"] as? String ?? "?"
        }
        XCTAssertEqual(steps, ["late", "early"], "both, the older transaction's first")
        let positions = afterCommit.compactMap { $0.id.flatMap(GenerationEventPosition.init(text:)) }
        XCTAssertEqual(positions.count, 2)
        XCTAssertEqual(positions, positions.sorted())
        // A resume after the first sends the second, once.
        let resumed = try SSEClient(port: server.port, path: "/v1/events",
                                    headers: ["Authorization": "Bearer \(session.accessToken)", "Last-Event-ID": try XCTUnwrap(afterCommit.first?.id)])
        XCTAssertEqual(resumed.events(timeout: 2.5).map(\.id), [afterCommit.last?.id])
    }

    func testHeartbeatsKeepAnIdleStreamOpenPastTheConnectionTimeoutAndAGoneClientIsDropped() throws {
        server.stop()
        server = try TestServer(environment: ["HTTP_CONNECTION_TIMEOUT_SECONDS": "3"])
        let session = try server.signUp("heartbeats@example.com")
        XCTAssertEqual(server.environment.generations.eventHub.heartbeatSeconds, 1)
        var client: SSEClient? = try SSEClient(port: server.port, path: "/v1/events", headers: ["Authorization": "Bearer \(session.accessToken)"])
        let events = client?.events(timeout: 5) ?? []
        XCTAssertEqual(events, [])
        XCTAssertGreaterThanOrEqual(client?.comments ?? 0, 3, "a heartbeat every second")
        XCTAssertEqual(client?.ended, false, "still open after more than the 3 s connection timeout")
        XCTAssertEqual(server.environment.generations.eventHub.openStreams, 1)
        client = nil
        let deadline = Date().addingTimeInterval(5)
        while server.environment.generations.eventHub.openStreams > 0 && Date() < deadline { usleep(100_000) }
        XCTAssertEqual(server.environment.generations.eventHub.openStreams, 0, "the next heartbeat finds the client gone")
    }

    private static func generationID(_ event: SSEClient.Event) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])?["generation_id"] as? String
    }

    private static func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }
}
