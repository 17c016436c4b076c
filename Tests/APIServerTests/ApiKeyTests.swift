@testable import APIServer
import Domain
import Foundation
import Persistence
import TestSupport
import XCTest

/// The provider-key vault over real HTTP and a real database: isolation, validation, duplicates,
/// and that plaintext keys reach neither responses, logs nor the database.
final class ApiKeyTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    // MARK: - Sample keys (random, so no two tests or runs share one)

    static func hex(_ count: Int) -> String { SampleKeys.hex(count) }

    /// A key in the provider's real shape (TestSupport's `SampleKeys`), random on every call.
    static func sampleKey(_ provider: ProviderID) -> String {
        SampleKeys.key(for: provider.rawValue) ?? ""
    }

    static let storable = ProviderID.allCases.filter { $0 != .local }

    private func create(_ provider: ProviderID, key: String, label: String = "main", token: String) throws -> HTTPTestConnection.Response {
        try server.post("/v1/api-keys", ["provider": provider.rawValue, "label": label, "key": key], token: token)
    }

    private func delete(_ path: String, token: String) throws -> HTTPTestConnection.Response {
        try server.connect().request("DELETE", path, headers: ["Authorization": "Bearer \(token)"])
    }

    private func claims(_ userID: String) -> String {
        #"{"sub":"\#(userID)","role":"authenticated","aud":"authenticated"}"#
    }

    // MARK: - Tests

    func testCreateListDeleteAndOwnersOnly() throws {
        let alice = try server.signUp("alice@example.com")
        let bob = try server.signUp("bob@example.com")
        let key = Self.sampleKey(.openai)

        let created = try create(.openai, key: key, label: "Work", token: alice.accessToken)
        XCTAssertEqual(created.status, 201, created.text)
        XCTAssertFalse(created.text.contains(key))
        let body = try created.json()
        let id = try XCTUnwrap(body["id"] as? String)
        XCTAssertEqual(id, id.lowercased())
        XCTAssertNotNil(UUID(uuidString: id))
        XCTAssertEqual(created.header("location"), "/v1/api-keys/\(id)")
        XCTAssertEqual(body["provider"] as? String, "openai")
        XCTAssertEqual(body["label"] as? String, "Work")
        XCTAssertEqual(body["mask"] as? String, "sk-…" + key.suffix(4))
        XCTAssertEqual(body["status"] as? String, "unchecked")
        XCTAssertTrue(body["last_used_at"] is NSNull)
        XCTAssertNotNil(body["created_at"] as? String)
        XCTAssertEqual(Set(body.keys), ["id", "provider", "label", "mask", "status", "last_checked_at", "last_used_at", "created_at", "updated_at"],
                       "no ciphertext, fingerprint or key in the response")

        let listed = try server.get("/v1/api-keys", token: alice.accessToken)
        XCTAssertEqual(listed.status, 200)
        XCTAssertFalse(listed.text.contains(key))
        let items = try XCTUnwrap(try listed.json()["data"] as? [[String: Any]])
        XCTAssertEqual(items.map { $0["id"] as? String }, [id])

        // Location names the key itself.
        let read = try server.get(try XCTUnwrap(created.header("location")), token: alice.accessToken)
        XCTAssertEqual(read.status, 200, read.text)
        XCTAssertEqual(try read.json()["id"] as? String, id)
        XCTAssertEqual(try read.json()["mask"] as? String, body["mask"] as? String)
        XCTAssertFalse(read.text.contains(key))
        XCTAssertEqual(try server.get("/v1/api-keys/\(id)", token: bob.accessToken).status, 404, "another user's key reads as missing")
        XCTAssertEqual(try server.get("/v1/api-keys/not-a-uuid", token: alice.accessToken).status, 404)
        XCTAssertEqual(try server.get("/v1/api-keys/\(id)", token: nil).status, 401)

        let bobsList = try XCTUnwrap(try server.get("/v1/api-keys", token: bob.accessToken).json()["data"] as? [[String: Any]])
        XCTAssertTrue(bobsList.isEmpty, "RLS: Bob sees none of Alice's keys")
        let bobDeletes = try delete("/v1/api-keys/\(id)", token: bob.accessToken)
        XCTAssertEqual(bobDeletes.status, 404, "another user's key is indistinguishable from a missing one")
        XCTAssertEqual(try bobDeletes.json()["code"] as? String, "not_found")
        XCTAssertEqual(try delete("/v1/api-keys/not-a-uuid", token: alice.accessToken).status, 404)

        XCTAssertEqual(try delete("/v1/api-keys/\(id)", token: alice.accessToken).status, 204)
        XCTAssertEqual(try delete("/v1/api-keys/\(id)", token: alice.accessToken).status, 404)
        let after = try XCTUnwrap(try server.get("/v1/api-keys", token: alice.accessToken).json()["data"] as? [[String: Any]])
        XCTAssertTrue(after.isEmpty)

        XCTAssertEqual(try server.get("/v1/api-keys", token: nil).status, 401)
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "openai", "label": "x", "key": key]).status, 401)
    }

    func testEveryProviderAcceptsItsShapeAndRejectsOthersWithoutEchoingTheKey() throws {
        let user = try server.signUp("shapes@example.com")
        for provider in Self.storable {
            let good = try create(provider, key: Self.sampleKey(provider), token: user.accessToken)
            XCTAssertEqual(good.status, 201, "\(provider): \(good.text)")
        }
        let wrong: [(ProviderID, String)] = [
            (.openai, "pk-" + Self.hex(40)),
            (.openai, "sk-ant-api03-" + Self.hex(80)),
            (.openai, "sk-short"),
            (.anthropic, "sk-proj-" + Self.hex(48)),
            (.openrouter, "sk-or-v2-" + Self.hex(64)),
            (.elevenlabs, Self.hex(10)),
            (.runway, "key_" + Self.hex(127)),
            (.runway, "key_" + Self.hex(128).uppercased()),
            (.veo, "AIzb" + Self.hex(35)),
            (.veo, "AIza" + Self.hex(34)),
            (.fal, Self.hex(40)),
            (.fal, "abc:def:" + Self.hex(32)),
            (.openai, "sk-proj-" + Self.hex(20) + " " + Self.hex(20)),
        ]
        for (provider, key) in wrong {
            let response = try create(provider, key: key, token: user.accessToken)
            XCTAssertEqual(response.status, 422, "\(provider) accepted a malformed key: \(response.text)")
            let body = try response.json()
            XCTAssertEqual(body["code"] as? String, "validation_failed")
            let errors = try XCTUnwrap(body["errors"] as? [[String: Any]])
            XCTAssertEqual(errors.first?["field"] as? String, "key")
            XCTAssertEqual(errors.first?["code"] as? String, "invalid_format")
            XCTAssertFalse((errors.first?["message"] as? String ?? "").isEmpty)
            XCTAssertNil(KeyLeakDetector(keys: [key]).leak(in: response.text), "the problem repeats a piece of the key: \(response.text)")
        }
        let unknown = try server.post("/v1/api-keys", ["provider": "acme", "label": "x", "key": "whatever-1234567890"], token: user.accessToken)
        XCTAssertEqual(unknown.status, 422)
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "local", "label": "x", "key": "k"], token: user.accessToken).status, 422)
        let missing = try server.post("/v1/api-keys", ["provider": "openai"], token: user.accessToken)
        XCTAssertEqual(missing.status, 422)
        XCTAssertEqual(Set((try missing.json()["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }), ["label", "key"])
        XCTAssertEqual(try create(.openai, key: Self.sampleKey(.openai), label: String(repeating: "l", count: 101),
                                  token: user.accessToken).status, 422)
    }

    func testTheSameKeyTwiceIsAConflictPerUserAndProvider() throws {
        let alice = try server.signUp("dup-a@example.com")
        let bob = try server.signUp("dup-b@example.com")
        let key = Self.sampleKey(.anthropic)
        XCTAssertEqual(try create(.anthropic, key: key, label: "one", token: alice.accessToken).status, 201)
        let again = try create(.anthropic, key: key, label: "two", token: alice.accessToken)
        XCTAssertEqual(again.status, 409, again.text)
        XCTAssertEqual(try again.json()["code"] as? String, "duplicate_key")
        XCTAssertFalse(again.text.contains(key))
        XCTAssertEqual(try create(.anthropic, key: key, token: bob.accessToken).status, 201, "duplicates are per user")
        XCTAssertEqual(try create(.anthropic, key: Self.sampleKey(.anthropic), label: "two", token: alice.accessToken).status, 201)
    }

    func testPlaintextKeysReachNeitherTheDatabaseNorTheLogs() throws {
        let user = try server.signUp("dump@example.com")
        var keys: [String] = []
        var responses: [String] = []
        for provider in Self.storable {
            let key = Self.sampleKey(provider)
            keys.append(key)
            let created = try create(provider, key: key, token: user.accessToken)
            XCTAssertEqual(created.status, 201)
            // A rejected duplicate, a malformed variant and a lookup must not leak either.
            let duplicate = try create(provider, key: key, label: "again", token: user.accessToken)
            XCTAssertEqual(duplicate.status, 409)
            let malformed = try create(provider, key: key + " " + key, label: "broken", token: user.accessToken)
            XCTAssertEqual(malformed.status, 422)
            responses += [created.text, duplicate.text, malformed.text]
            XCTAssertEqual(try server.environment.vault.decryptedKey(userID: UUID(uuidString: user.userID)!, claimsJSON: claims(user.userID),
                                                                     provider: provider).plaintext, key)
        }
        responses.append(try server.get("/v1/api-keys", token: user.accessToken).text)
        responses.append(try server.get("/metrics", token: nil).text)
        let detector = KeyLeakDetector(keys: keys)
        XCTAssertNotNil(detector.leak(in: "x" + String(keys[0].suffix(8))), "the check finds a piece of a key")

        let dump = try ChildProcess("/usr/lib/postgresql/15/bin/pg_dump", ["--no-owner", server.environment.config.migrationDatabaseURL])
        defer { try? FileManager.default.removeItem(atPath: dump.outputPath) }
        XCTAssertEqual(dump.wait(), 0, dump.output)
        let text = dump.output
        XCTAssertTrue(text.contains("COPY public.user_api_keys"), "the dump holds the vault table")
        XCTAssertTrue(text.contains("app_private.vault_settings"))
        // The dump is mostly hex (ciphertexts), where 8 random hex digits would match by chance
        // now and then, so it is searched for 16-character pieces; logs and bodies for 8.
        for key in keys {
            XCTAssertFalse(text.contains(key), "plaintext key in the database dump")
            XCTAssertFalse(text.contains(Data(key.utf8).map { String(format: "%02x", $0) }.joined()), "hex of a key in the dump")
            for start in stride(from: 0, to: key.utf8.count - 16, by: 8) {
                let piece = String(key.dropFirst(start).prefix(16))
                XCTAssertFalse(text.contains(piece), "a piece of a key in the dump: \(piece)")
            }
        }
        let logs = server.logLines.all
        XCTAssertFalse(logs.isEmpty)
        if let leak = detector.firstLeak(in: logs) {
            XCTFail("a piece of a key (\(leak.piece)) in the log: \(leak.text)")
        }
        if let leak = detector.firstLeak(in: responses) {
            XCTFail("a piece of a key (\(leak.piece)) in a response: \(leak.text)")
        }
    }

    func testACiphertextMovedToAnotherRowOrUserDoesNotOpen() throws {
        let alice = try server.signUp("move-a@example.com")
        let bob = try server.signUp("move-b@example.com")
        let first = Self.sampleKey(.openai), second = Self.sampleKey(.openai), bobs = Self.sampleKey(.openai)
        let firstID = try XCTUnwrap(try create(.openai, key: first, label: "first", token: alice.accessToken).json()["id"] as? String)
        let secondID = try XCTUnwrap(try create(.openai, key: second, label: "second", token: alice.accessToken).json()["id"] as? String)
        let bobsID = try XCTUnwrap(try create(.openai, key: bobs, token: bob.accessToken).json()["id"] as? String)
        let vault = server.environment.vault
        let aliceID = try XCTUnwrap(UUID(uuidString: alice.userID)), bobID = try XCTUnwrap(UUID(uuidString: bob.userID))
        XCTAssertEqual(try vault.decryptedKey(userID: aliceID, claimsJSON: claims(alice.userID), provider: .openai).plaintext, second,
                       "newest first")
        XCTAssertEqual(try vault.decryptedKey(userID: bobID, claimsJSON: claims(bob.userID), provider: .openai).plaintext, bobs)
        XCTAssertThrowsError(try vault.decryptedKey(userID: bobID, claimsJSON: claims(bob.userID), provider: .anthropic)) { error in
            XCTAssertEqual(error as? KeyVaultError, .noKey(.anthropic))
        }

        // An operator (or an attacker with SQL access) copies Alice's first ciphertext over Bob's row and over her second.
        let pool = server.environment.pool
        try pool.withServiceRole { transaction in
            try transaction.query("""
                update public.user_api_keys set ciphertext = (select ciphertext from public.user_api_keys where id = \(firstID)::uuid)
                where id in (\(bobsID)::uuid, \(secondID)::uuid)
                """)
        }
        XCTAssertThrowsError(try vault.decryptedKey(userID: bobID, claimsJSON: claims(bob.userID), provider: .openai)) { error in
            XCTAssertEqual(error as? KeyVaultError, .unopenable(keyID: UUID(uuidString: bobsID)!), "another user's ciphertext does not open")
        }
        XCTAssertEqual(try vault.decryptedKey(userID: aliceID, claimsJSON: claims(alice.userID), provider: .openai).plaintext, first,
                       "the moved copy does not open in the second row, so the vault falls back to the first key")
        XCTAssertEqual(try delete("/v1/api-keys/\(firstID)", token: alice.accessToken).status, 204)
        XCTAssertThrowsError(try vault.decryptedKey(userID: aliceID, claimsJSON: claims(alice.userID), provider: .openai)) { error in
            XCTAssertEqual(error as? KeyVaultError, .unopenable(keyID: UUID(uuidString: secondID)!))
        }
        // Listing never decrypts, so a damaged row does not break it.
        XCTAssertEqual(try server.get("/v1/api-keys", token: alice.accessToken).status, 200)
        XCTAssertEqual(try server.get("/v1/api-keys", token: bob.accessToken).status, 200)
        // RLS guards the rows themselves, whatever the Swift code filters: Alice's real key is
        // invisible and untouchable under Bob's claims, and there under hers.
        func rows(_ statement: String, as user: String) throws -> Int {
            try pool.withUserScope(claimsJSON: claims(user)) { transaction in
                switch statement {
                case "select": try transaction.query("select id from public.user_api_keys where id = \(secondID)::uuid").count
                // A column users may update (the vault records use as the user), so a refusal is RLS, not a grant.
                case "update": try transaction.query("update public.user_api_keys set last_used_at = now() where id = \(secondID)::uuid returning id").count
                default: try transaction.query("delete from public.user_api_keys where id = \(secondID)::uuid returning id").count
                }
            }
        }
        func listed() throws -> [[String: Any]] {
            try XCTUnwrap(try server.get("/v1/api-keys", token: alice.accessToken).json()["data"] as? [[String: Any]])
        }
        let lastUsedBefore = try listed().first?["last_used_at"] as? String
        XCTAssertEqual(try rows("select", as: alice.userID), 1, "the owner sees her key")
        XCTAssertEqual(try rows("select", as: bob.userID), 0, "RLS: Bob does not see Alice's key")
        XCTAssertEqual(try rows("update", as: bob.userID), 0, "RLS: Bob cannot change Alice's key")
        XCTAssertEqual(try rows("delete", as: bob.userID), 0, "RLS: Bob cannot delete Alice's key")
        let aliceSees = try listed()
        XCTAssertEqual(aliceSees.compactMap { $0["id"] as? String }, [secondID], "Alice's key is still there")
        XCTAssertEqual(aliceSees.first?["last_used_at"] as? String, lastUsedBefore, "Bob's update changed nothing")
        XCTAssertEqual(try rows("update", as: alice.userID), 1, "the same update as the owner changes her row")
        XCTAssertEqual(try delete("/v1/api-keys/\(secondID)", token: bob.accessToken).status, 404)
        XCTAssertEqual(try server.post("/v1/api-keys/\(secondID)/test", [:], token: bob.accessToken).status, 404)
    }

    func testUsersCannotReadTheSaltOrOtherUsersCiphertexts() throws {
        let alice = try server.signUp("salt-a@example.com")
        let bob = try server.signUp("salt-b@example.com")
        XCTAssertEqual(try create(.veo, key: Self.sampleKey(.veo), token: alice.accessToken).status, 201)
        let pool = server.environment.pool
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(alice.userID)) {
            try $0.query("select kek_salt from app_private.vault_settings")
        }, "the salt is for service_role only") { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "42501")
        }
        let seenByBob = try pool.withUserScope(claimsJSON: claims(bob.userID)) {
            try $0.query("select count(*)::int as n from public.user_api_keys")[0].decode("n", as: Int.self)
        }
        XCTAssertEqual(seenByBob, 0, "RLS: Bob sees none of Alice's keys")
        let seenByAlice = try pool.withUserScope(claimsJSON: claims(alice.userID)) {
            try $0.query("select count(*)::int as n from public.user_api_keys")[0].decode("n", as: Int.self)
        }
        XCTAssertEqual(seenByAlice, 1, "the owner sees hers, so the zero above is RLS and not an empty table")
        // Bob cannot plant a row in Alice's name either.
        XCTAssertThrowsError(try pool.withUserScope(claimsJSON: claims(bob.userID)) {
            try $0.query("""
                insert into public.user_api_keys (id, user_id, provider, label, ciphertext, key_version, mask_prefix, last4, fingerprint)
                values (gen_random_uuid(), \(UUID(uuidString: alice.userID)!), 'openai', 'x', '\\x00', 1, 'sk-', 'abcd', '\\x00')
                """)
        }) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "42501", "refused by the insert policy")
        }
        let settings = try pool.withServiceRole { try $0.query("select length(kek_salt) as n, scrypt_parameters from app_private.vault_settings") }
        XCTAssertEqual(settings.count, 1)
        XCTAssertEqual(try settings[0].decode("n", as: Int.self), 16)
        XCTAssertEqual(try settings[0].decode("scrypt_parameters", as: String.self), "scrypt:n=1024,r=8,p=1,len=32")
    }

    func testVaultErrorsBecomeProblemsThatNameTheKeyNotItsContent() throws {
        server.stop()
        // A probe route standing in for the router: it asks the vault for the caller's key.
        server = try TestServer(extraRoutes: { environment in [
            Route("GET", "/probe/{provider}", "probe") { request in
                let identity = try environment.authenticator.identity(of: request)
                let key = try environment.vault.decryptedKey(userID: identity.userID, claimsJSON: identity.claimsJSON,
                                                             provider: ProviderID(rawValue: request.pathParameters["provider"] ?? "") ?? .openai)
                return try .json(["mask": key.masked])
            },
        ] })
        let user = try server.signUp("probe@example.com")
        let none = try server.get("/probe/fal", token: user.accessToken)
        XCTAssertEqual(none.status, 422, none.text)
        XCTAssertEqual(try none.json()["code"] as? String, "no_api_key")
        let key = Self.sampleKey(.fal)
        let id = try XCTUnwrap(try create(.fal, key: key, token: user.accessToken).json()["id"] as? String)
        let found = try server.get("/probe/fal", token: user.accessToken)
        XCTAssertEqual(try found.json()["mask"] as? String, String(key.prefix(3)) + "…" + key.suffix(4))
        try server.environment.pool.withServiceRole { transaction in
            try transaction.query("update public.user_api_keys set ciphertext = ciphertext || '\\x00'::bytea where id = \(id)::uuid")
        }
        let broken = try server.get("/probe/fal", token: user.accessToken)
        XCTAssertEqual(broken.status, 409, broken.text)
        XCTAssertEqual(try broken.json()["code"] as? String, "api_key_unreadable")
        XCTAssertTrue(broken.text.contains(id))
        // The key check opens the key first, so it refuses the same way before any provider call.
        let check = try server.post("/v1/api-keys/\(id)/test", [:], token: user.accessToken)
        XCTAssertEqual(check.status, 409, check.text)
        XCTAssertEqual(try check.json()["code"] as? String, "api_key_unreadable")
        let detector = KeyLeakDetector(keys: [key])
        XCTAssertNil(detector.firstLeak(in: [none.text, found.text, broken.text, check.text])?.piece)
        XCTAssertNil(detector.firstLeak(in: server.logLines.all)?.piece)
    }
}
