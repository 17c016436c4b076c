@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// Generations on the offline `local` provider, over real HTTP: a new user with no keys
/// generates and downloads; listing, idempotency and `Prefer: wait`.
final class GenerationTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private var project = ""

    override func setUpWithError() throws {
        server = try TestServer()
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("generations@example.com").accessToken
        project = try XCTUnwrap(try server.createProject(["name": "Offline"], token: token)["id"] as? String)
    }

    override func tearDown() {
        server.stop()
    }

    private func download(_ output: [String: Any]) throws -> HTTPTestConnection.Response {
        try server.get(try XCTUnwrap(output["url"] as? String), token: token)
    }

    func testANewUserWithNoKeysGeneratesTextImageSpeechAndVideoOfflineAndDownloadsThem() throws {
        let cases: [(type: String, parameters: [String: Any], contentType: String, magic: [UInt8])] = [
            ("text", [:], "text/plain; charset=utf-8", []),
            ("image", ["size": "256x256"], "image/png", [0x89, 0x50, 0x4E, 0x47]),
            ("audio", [:], "audio/wav", Array("RIFF".utf8)),
            ("video", ["duration_seconds": 1], "video/mp4", []),
        ]
        for item in cases {
            let response = try server.generate(["project_id": project, "type": item.type, "prompt": "A lighthouse at dusk",
                                                "parameters": item.parameters], token: token, wait: 60)
            XCTAssertEqual(response.status, 200, "\(item.type): \(response.text)")
            let body = try response.json()
            XCTAssertEqual(body["status"] as? String, "succeeded", "\(item.type): \(body)")
            XCTAssertEqual(body["provider"] as? String, "local")
            XCTAssertEqual(try Money(parsing: try XCTUnwrap(body["actual_cost_usd"] as? String)), .zero, "offline costs nothing")
            XCTAssertEqual(response.header("location"), "/v1/generations/\(try XCTUnwrap(body["id"] as? String))")
            let outputs = try XCTUnwrap(body["outputs"] as? [[String: Any]])
            let output = try XCTUnwrap(outputs.first, "\(item.type) has an output")
            XCTAssertEqual(output["content_type"] as? String, item.contentType)
            let file = try download(output)
            XCTAssertEqual(file.status, 200)
            XCTAssertEqual(file.header("content-type"), item.contentType)
            XCTAssertEqual(Int64(file.body.count), output["bytes"] as? Int64 ?? Int64(output["bytes"] as? Int ?? -1))
            XCTAssertGreaterThan(file.body.count, 0)
            XCTAssertEqual(Array(file.body.prefix(item.magic.count)), item.magic, "\(item.type) bytes are a real \(item.contentType)")
            if item.type == "video" { XCTAssertEqual(String(decoding: file.body.dropFirst(4).prefix(4), as: UTF8.self), "ftyp") }
            if item.type == "text" { XCTAssertEqual(file.text, body["text"] as? String) }
            let attempts = try XCTUnwrap(body["attempts"] as? [[String: Any]])
            XCTAssertEqual(attempts.last?["status"] as? String, "succeeded")
        }
    }

    func testWithoutPreferWaitTheAnswerIs202AndTheGenerationFinishesOnItsOwn() throws {
        let response = try server.generate(["project_id": project, "type": "text", "prompt": "hello"], token: token)
        XCTAssertEqual(response.status, 202, response.text)
        let body = try response.json()
        // Admitted already started by this process (the row is created running, leased to it).
        XCTAssertEqual(body["status"] as? String, "running")
        let id = try XCTUnwrap(body["id"] as? String)
        let done = try server.finished(id, token: token)
        XCTAssertEqual(done["status"] as? String, "succeeded", "\(done)")
        // Another user sees nothing of it.
        let other = try server.signUp("other@example.com").accessToken
        XCTAssertEqual(try server.get("/v1/generations/\(id)", token: other).status, 404)
        let assetURL = try XCTUnwrap((done["outputs"] as? [[String: Any]])?.first?["url"] as? String)
        XCTAssertEqual(try server.get(assetURL, token: other).status, 404)
    }

    func testAMalformedOrOverlongPreferIs400BeforeAnythingIsAdmitted() throws {
        let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "hello"]
        for prefer in ["wait=soon", "respond-async, " + String(repeating: "x", count: 200)] {
            let response = try server.post("/v1/generations", body, token: token, headers: ["Prefer": prefer])
            XCTAssertEqual(response.status, 400, response.text)
            XCTAssertEqual(try response.json()["code"] as? String, "invalid_prefer")
        }
        let listed = try server.get("/v1/generations", token: token).json()
        XCTAssertEqual((listed["data"] as? [Any])?.count, 0, "nothing was admitted")
    }

    /// Listing remembers what it decoded and wrote per row; a row that changed underneath (here
    /// by the database owner) is listed as it now is, on every HTTP thread that had it remembered.
    func testAListedGenerationIsListedAsItsRowNowIs() throws {
        let done = try server.generate(["project_id": project, "type": "text", "prompt": "remember me"], token: token, wait: 30)
        XCTAssertEqual(done.status, 200, done.text)
        let id = try XCTUnwrap(try done.json()["id"] as? String)
        func listedText() throws -> String? {
            let items = try XCTUnwrap(try server.get("/v1/generations?limit=5", token: token).json()["data"] as? [[String: Any]])
            return items.first { $0["id"] as? String == id }?["text"] as? String
        }
        let before = try XCTUnwrap(try listedText())
        XCTAssertNotEqual(before, "changed underneath")
        for _ in 0..<24 { XCTAssertEqual(try listedText(), before) }
        _ = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
            .query("update public.generations set output_text = 'changed underneath' where id = \(id)::uuid")
        for _ in 0..<24 { XCTAssertEqual(try listedText(), "changed underneath") }
    }

    func testListFiltersByTypeAndStatusAndPagesWithACursor() throws {
        for index in 0..<5 {
            let type = index < 3 ? "text" : "image"
            XCTAssertEqual(try server.generate(["project_id": project, "type": type, "prompt": "item \(index)"], token: token, wait: 30).status, 200)
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try server.get("/v1/generations?type=text&status=succeeded&limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                                      token: token).json()
            let items = try XCTUnwrap(page["data"] as? [[String: Any]])
            XCTAssertTrue(items.allSatisfy { $0["type"] as? String == "text" })
            seen += items.compactMap { $0["id"] as? String }
            cursor = page["next_cursor"] as? String
        } while cursor != nil
        XCTAssertEqual(seen.count, 3)
        XCTAssertEqual(Set(seen).count, 3, "no item twice across pages")
        XCTAssertEqual(try server.get("/v1/generations?status=sideways", token: token).status, 422)
        XCTAssertEqual(try server.get("/v1/generations?cursor=not-one", token: token).status, 400)
    }

    /// Rows of near-megabyte prompts: a page ends early, well before its limit, once its large
    /// texts pass 4 MiB, and `next_cursor` goes on from there without skipping or repeating any.
    func testAPageOfHugePromptsEndsEarlyAndTheCursorGoesOnWithoutLosingAny() throws {
        // The production body limit (1 MiB), not the tests' 64 KiB.
        server.stop()
        server = try TestServer(environment: ["HTTP_MAX_BODY_BYTES": "1048576"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("huge-prompts@example.com").accessToken
        project = try XCTUnwrap(try server.createProject(["name": "Huge"], token: token)["id"] as? String)
        let prompt = String(repeating: "\u{1F600}", count: 190_000)   // 760,000 bytes of UTF-8
        var made: [String] = []
        for _ in 0..<8 {
            let done = try server.generate(["project_id": project, "type": "text", "prompt": prompt], token: token, wait: 60)
            XCTAssertEqual(done.status, 200, String(done.text.prefix(300)))
            made.append(try XCTUnwrap(try done.json()["id"] as? String))
        }
        /// Every item of a listing, page by page; checks each page's size. Returns the ids in order and the pages.
        func pages(_ path: String, id: String) throws -> (ids: [String], pages: Int) {
            var seen: [String] = []
            var pages = 0
            var cursor: String?
            repeat {
                let response = try server.get(path + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                XCTAssertEqual(response.status, 200)
                XCTAssertLessThan(response.body.count, ListedPages.maximumBytes + 2 * 1_700_000, "about 4 MiB, not all eight rows")
                let page = try response.json()
                let items = try XCTUnwrap(page["data"] as? [[String: Any]])
                XCTAssertFalse(items.isEmpty, "a page holds at least one item")
                seen += items.compactMap { $0[id] as? String }
                cursor = page["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 20
            return (seen, pages)
        }
        let generations = try pages("/v1/generations?limit=100", id: "id")
        XCTAssertGreaterThan(generations.pages, 1, "eight such rows do not fit one page")
        XCTAssertEqual(generations.ids, made.reversed(), "every generation once, newest first")
        // Each text generation filed its answer as an asset, listed with its generation's prompt.
        let assets = try pages("/v1/assets?limit=100&project_id=\(project)", id: "generation_id")
        XCTAssertGreaterThan(assets.pages, 1, "eight such assets do not fit one page")
        XCTAssertEqual(assets.ids, made.reversed(), "every asset once, newest first")
    }

    func testIdempotencyKeyReplaysTheFirstAnswerAndRefusesAnotherBody() throws {
        let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "once only"]
        let first = try server.generate(body, token: token, headers: ["Idempotency-Key": "key-1"])
        XCTAssertEqual(first.status, 202, first.text)
        let again = try server.generate(body, token: token, headers: ["Idempotency-Key": "key-1"])
        XCTAssertEqual(again.status, 202)
        XCTAssertEqual(again.body, first.body, "the first answer, byte for byte")
        XCTAssertEqual(again.header("idempotent-replayed"), "true")
        let other = try server.generate(["project_id": project, "type": "text", "prompt": "something else"], token: token,
                                        headers: ["Idempotency-Key": "key-1"])
        XCTAssertEqual(other.status, 422)
        XCTAssertEqual(try other.json()["code"] as? String, "idempotency_key_reused")
        // Keys are per user: another user's same key is a new request.
        let stranger = try server.signUp("stranger@example.com").accessToken
        let theirs = try XCTUnwrap(try server.createProject(["name": "Theirs"], token: stranger)["id"] as? String)
        XCTAssertEqual(try server.generate(["project_id": theirs, "type": "text", "prompt": "once only"], token: stranger,
                                           headers: ["Idempotency-Key": "key-1"]).status, 202)
        let list = try XCTUnwrap(try server.get("/v1/generations", token: token).json()["data"] as? [[String: Any]])
        XCTAssertEqual(list.count, 1, "one generation for the key, however often it was sent")
    }

    /// A retry of a `Prefer: wait` request whose answer was lost gets what that wait gave: the
    /// finished generation. (It got the admission's stored 202: `running`, no outputs.)
    func testAReplayThatAsksToWaitGetsTheGenerationAsItNowStands() throws {
        let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "wait for me"]
        let first = try server.generate(body, token: token, wait: 20, headers: ["Idempotency-Key": "wait-1"])
        XCTAssertEqual(first.status, 200, first.text)
        let again = try server.generate(body, token: token, wait: 20, headers: ["Idempotency-Key": "wait-1"])
        XCTAssertEqual(again.status, 200, again.text)
        XCTAssertEqual(again.header("idempotent-replayed"), "true")
        XCTAssertEqual(again.header("preference-applied"), "wait=20")
        XCTAssertEqual(try again.json()["id"] as? String, try first.json()["id"] as? String)
        XCTAssertEqual(try again.json()["status"] as? String, "succeeded")
        XCTAssertEqual((try again.json()["outputs"] as? [Any])?.count, (try first.json()["outputs"] as? [Any])?.count)
        // Without a wait, the stored answer as it was.
        let plain = try server.generate(body, token: token, headers: ["Idempotency-Key": "wait-1"])
        XCTAssertEqual(plain.status, 202, plain.text)
        XCTAssertEqual(plain.header("idempotent-replayed"), "true")
        XCTAssertEqual(try XCTUnwrap(try server.get("/v1/generations", token: token).json()["data"] as? [Any]).count, 1)
    }

    func testConcurrentDuplicatesWithOneKeyMakeOneGeneration() throws {
        let (server, token, project) = (self.server!, self.token, self.project)
        let statuses = LockedList<Int>()
        let ids = LockedList<String>()
        DispatchQueue.concurrentPerform(iterations: 12) { _ in
            let body: [String: Any] = ["project_id": project, "type": "text", "prompt": "raced"]
            guard let response = try? server.generate(body, token: token, headers: ["Idempotency-Key": "race"]) else { return }
            statuses.append(response.status)
            if let id = (try? response.json())?["id"] as? String { ids.append(id) }
        }
        XCTAssertEqual(statuses.all.count, 12)
        XCTAssertEqual(statuses.all, Array(repeating: 202, count: 12), "duplicates wait (suspended) for the first answer and get it")
        XCTAssertEqual(Set(ids.all).count, 1, "every answer names the same generation")
        let list = try XCTUnwrap(try server.get("/v1/generations", token: token).json()["data"] as? [[String: Any]])
        XCTAssertEqual(list.count, 1)
    }

    func testValidationAndOwnership() throws {
        let bad = try server.generate(["project_id": project, "type": "hologram", "prompt": "x"], token: token)
        XCTAssertEqual(bad.status, 422)
        let unknown = try server.generate(["project_id": project, "type": "text", "prompt": "x", "colour": "red"], token: token)
        XCTAssertEqual(unknown.status, 422)
        XCTAssertEqual(try unknown.json()["code"] as? String, "unknown_field")
        // Its models all need an input image, which a body cannot carry yet: refused, nothing reserved or run.
        let imageToVideo = try server.generate(["project_id": project, "type": "image_to_video", "prompt": "x"], token: token)
        XCTAssertEqual(imageToVideo.status, 422, imageToVideo.text)
        let errors = try XCTUnwrap(try imageToVideo.json()["errors"] as? [[String: Any]])
        XCTAssertEqual(errors.first?["field"] as? String, "type")
        XCTAssertEqual(errors.first?["code"] as? String, "needs_input_image")
        let batch = try server.post("/v1/generations/batch", ["project_id": project, "items": [["type": "image_to_video", "prompt": "x"]]],
                                    token: token)
        XCTAssertEqual(batch.status, 422, batch.text)
        XCTAssertEqual((try batch.json()["errors"] as? [[String: Any]])?.first?["field"] as? String, "items[0].type")
        XCTAssertEqual(try XCTUnwrap(try server.get("/v1/generations", token: token).json()["data"] as? [Any]).count, 0)
        let stranger = try server.signUp("intruder@example.com").accessToken
        XCTAssertEqual(try server.generate(["project_id": project, "type": "text", "prompt": "x"], token: stranger).status, 404)
        XCTAssertEqual(try server.generate(["project_id": project, "type": "text", "prompt": "x"], token: token,
                                           headers: ["Prefer": "wait=soon"]).status, 400)
    }

    func testDeletingAProjectWithAGenerationInFlightIs409UntilItEnds() throws {
        let session = try server.signUp("busy-project@example.com")
        let busyProject = try XCTUnwrap(try server.createProject(["name": "Busy"], token: session.accessToken)["id"] as? String)
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let claims = GenerationExecutor.claims(for: userID)
        // Admitted and queued, not started here (as if its process waits for a worker).
        let record = try server.environment.generations.admission.admit(
            QuoteRequest(projectID: busyProject, kind: .text, prompt: "wait", maxOutputTokens: 50),
            settings: GenerationSettings(maxOutputTokens: 50),
            as: AuthenticatedIdentity(userID: userID, sessionID: nil, role: "authenticated", claimsJSON: claims))
        let refused = try server.send("DELETE", "/v1/projects/\(busyProject)", token: session.accessToken)
        XCTAssertEqual(refused.status, 409, refused.text)
        XCTAssertEqual(try refused.json()["code"] as? String, "project_busy")
        XCTAssertEqual(try server.get("/v1/projects/\(busyProject)", token: session.accessToken).status, 200, "still there")
        let cancel = try server.post("/v1/generations/\(record.id.uuidString.lowercased())/cancel", [:], token: session.accessToken)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        XCTAssertEqual(try server.send("DELETE", "/v1/projects/\(busyProject)", token: session.accessToken).status, 204)
        XCTAssertEqual(try server.get("/v1/projects/\(busyProject)", token: session.accessToken).status, 404)
    }

    func testCancelOfAFinishedGenerationIsAConflict() throws {
        let done = try server.generate(["project_id": project, "type": "text", "prompt": "quick"], token: token, wait: 30).json()
        let id = try XCTUnwrap(done["id"] as? String)
        let cancel = try server.post("/v1/generations/\(id)/cancel", [:], token: token)
        XCTAssertEqual(cancel.status, 409, cancel.text)
        XCTAssertEqual(try cancel.json()["code"] as? String, "generation_finished")
    }
}

final class LockedList<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Element] = []
    func append(_ item: Element) { lock.lock(); items.append(item); lock.unlock() }
    var all: [Element] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Reservations a crash left open are ended by the workers: an ended generation's charge is
/// settled, a failed one's (or one never created) released, so `reserved` cannot drift.
final class LeftoverReservationTests: XCTestCase {
    func testTheWorkerEndsReservationsACrashLeftOpen() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.signUp("leftovers@example.com")
        let project = try XCTUnwrap(try server.createProject(["name": "Crashes"], token: session.accessToken)["id"] as? String)
        let projectID = try XCTUnwrap(UUID(uuidString: project))
        let userID = try XCTUnwrap(UUID(uuidString: session.userID))
        let claims = GenerationExecutor.claims(for: userID)
        let engine = server.environment.generations
        let ledger = engine.executor.runner.ledger
        let half = try Money(parsing: "0.5")

        func generation(ending status: GenerationStatus?, cost: Money? = nil) throws -> UUID {
            let id = UUID()
            XCTAssertTrue(try ledger.reserve(project: projectID, generation: id, amount: half, provider: nil, claimsJSON: claims).admitted)
            guard let status else { return id }
            _ = try engine.store.create(NewGeneration(id: id, projectID: projectID, kind: .text, prompt: "p", settings: GenerationSettings(),
                                                      requestedProvider: nil, requestedModel: nil, candidates: [], estimate: half,
                                                      maxCost: nil, pricingVersion: "v"),
                                        leaseOwner: "dead", leaseSeconds: 60, claimsJSON: claims)
            _ = try engine.store.advance(id, to: .running, changes: GenerationChanges(), event: nil, claimsJSON: claims)
            XCTAssertNotNil(try engine.store.advance(id, to: status, changes: GenerationChanges(actualCost: cost), event: nil, claimsJSON: claims))
            return id
        }
        let succeeded = try generation(ending: .succeeded, cost: try Money(parsing: "0.2"))
        let failed = try generation(ending: .failed)
        let neverCreated = try generation(ending: nil)
        XCTAssertEqual(engine.worker.endLeftoverReservations(), 0, "nothing is touched within the grace period")
        // The process died a while ago: move the clocks back (as the owner role; the ledger is append-only for the API roles).
        let admin = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
        try admin.query("update public.generations set finished_at = now() - interval '2 minutes' where id in (\(succeeded), \(failed))")
        try admin.query("update public.budget_ledger set created_at = now() - interval '10 minutes' where generation_id = \(neverCreated)")
        XCTAssertEqual(engine.worker.endLeftoverReservations(), 3)
        XCTAssertEqual(engine.worker.endLeftoverReservations(), 0, "each is ended once")
        let budget = try server.budget(of: project, token: session.accessToken)
        XCTAssertEqual(budget.reserved, .zero)
        XCTAssertEqual(budget.spent, try Money(parsing: "0.2"), "the succeeded one is charged its actual cost, the others nothing")
    }
}
