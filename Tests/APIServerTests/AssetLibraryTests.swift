@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

/// Browsing and editing the library: filters and paging, PATCH with If-Match, bulk actions all or
/// nothing, lineage, thumbnails, and content stored once and deleted with its last asset.
final class AssetLibraryTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private var project = ""

    override func setUpWithError() throws {
        server = try TestServer()
        (token, project) = try server.assetUser("library@example.com")
    }

    override func tearDown() {
        server?.stop()
    }

    private func upload(_ text: String, name: String) throws -> String {
        try XCTUnwrap(try server.uploadAsset(Data(text.utf8), type: "text/plain", project: project, query: "&filename=\(name)",
                                             token: token)["id"] as? String)
    }

    private func list(_ query: String) throws -> [String] {
        let response = try server.get("/v1/assets?\(query)", token: token)
        XCTAssertEqual(response.status, 200, response.text)
        return (try response.json()["data"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    /// The listing remembers what it decoded and wrote per row; an edited asset, and a generation's
    /// prompt it shows that changed underneath, are listed as they now are on every HTTP thread.
    func testAListedAssetIsListedAsItsRowNowIs() throws {
        let id = try upload("waves", name: "sea.txt")
        for _ in 0..<24 { XCTAssertEqual(try list(""), ["sea.txt"]) }
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(id)", ["name": "ocean.txt"], token: token).status, 200)
        for _ in 0..<24 { XCTAssertEqual(try list(""), ["ocean.txt"]) }
        // Changed by the database owner without touching the row's version or time.
        _ = try PostgresConnection(url: server.environment.config.migrationDatabaseURL)
            .query("update public.assets set name = 'lake.txt' where id = \(id)::uuid")
        for _ in 0..<24 { XCTAssertEqual(try list(""), ["lake.txt"]) }
    }

    func testFiltersSortingAndCursorPaging() throws {
        let sea = try upload("waves", name: "sea.txt")
        let hill = try upload("grass", name: "hill.txt")
        _ = try upload("stone", name: "rock.txt")
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(sea)", ["tags": ["blue", "water"], "favourite": true,
                                                                     "description": "A calm Sea"], token: token).status, 200)
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(hill)", ["archived": true], token: token).status, 200)
        XCTAssertEqual(try list(""), ["rock.txt", "sea.txt"], "archived assets are hidden by default, newest first")
        XCTAssertEqual(try list("archived=true"), ["hill.txt"])
        XCTAssertEqual(try list("sort=created_at"), ["sea.txt", "rock.txt"])
        XCTAssertEqual(try list("tag=water"), ["sea.txt"])
        XCTAssertEqual(try list("favourite=true"), ["sea.txt"])
        XCTAssertEqual(try list("q=calm%20sea"), ["sea.txt"], "q matches the description, case-insensitively")
        XCTAssertEqual(try list("kind=image"), [])
        XCTAssertEqual(try list("project_id=\(project)&kind=text"), ["rock.txt", "sea.txt"])
        XCTAssertEqual(try list("created_after=2000-01-01T00:00:00Z&created_before=2999-01-01T00:00:00Z"), ["rock.txt", "sea.txt"])
        XCTAssertEqual(try list("created_after=2000-01-01T00:00:00.250Z"), ["rock.txt", "sea.txt"], "fractional seconds are RFC 3339 too")
        XCTAssertEqual(try list("created_before=2000-01-01T00:00:00.5Z"), [])
        // An offset's `+` as curl sends it unencoded (a space once decoded), and encoded.
        XCTAssertEqual(try list("created_after=2000-01-01T02:00:00+02:00"), ["rock.txt", "sea.txt"])
        XCTAssertEqual(try list("created_before=2999-01-01T00:00:00%2B02:00"), ["rock.txt", "sea.txt"])
        XCTAssertEqual(try list("created_before=2000-01-01T00:00:00-01:00"), [])
        var names: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let response = try server.get("/v1/assets?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
            let body = try response.json()
            names += (body["data"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            cursor = body["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        XCTAssertEqual(names, ["rock.txt", "sea.txt"])
        XCTAssertEqual(try server.get("/v1/assets?cursor=nonsense", token: token).status, 400)
        // Oldest first, page by page; a cursor of that order used without its `sort` is refused, not read backwards.
        let oldest = try server.get("/v1/assets?limit=1&sort=created_at", token: token).json()
        XCTAssertEqual((oldest["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, ["sea.txt"])
        let ascending = try XCTUnwrap(oldest["next_cursor"] as? String)
        let next = try server.get("/v1/assets?limit=1&sort=created_at&cursor=\(ascending)", token: token).json()
        XCTAssertEqual((next["data"] as? [[String: Any]])?.compactMap { $0["name"] as? String }, ["rock.txt"])
        let mixed = try server.get("/v1/assets?limit=1&cursor=\(ascending)", token: token)
        XCTAssertEqual(mixed.status, 400, mixed.text)
        XCTAssertEqual(try mixed.json()["code"] as? String, "bad_cursor")
        for bad in ["kind=pdf", "favourite=yes", "limit=0", "sort=name", "created_after=yesterday", "project_id=x"] {
            XCTAssertEqual(try server.get("/v1/assets?\(bad)", token: token).status, 422, bad)
        }
    }

    func testPatchHonoursIfMatchAndValidates() throws {
        let id = try upload("draft", name: "draft.txt")
        let read = try server.get("/v1/assets/\(id)", token: token)
        let etag = try XCTUnwrap(read.header("etag"))
        let renamed = try server.send("PATCH", "/v1/assets/\(id)", ["name": "final.txt", "tags": ["b", "a", "b"]], token: token,
                                      headers: ["If-Match": etag])
        XCTAssertEqual(renamed.status, 200, renamed.text)
        XCTAssertEqual(try renamed.json()["tags"] as? [String], ["a", "b"])
        XCTAssertNotEqual(renamed.header("etag"), etag)
        let stale = try server.send("PATCH", "/v1/assets/\(id)", ["name": "lost.txt"], token: token, headers: ["If-Match": etag])
        XCTAssertEqual(stale.status, 412)
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(id)", ["name": "x"], token: token, headers: ["If-Match": "nonsense"]).status, 400)
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(id)", ["description": nil as String? as Any], token: token).status, 200)
        for body: [String: Any] in [["name": ""], ["tags": ["\u{7}bell"]], ["description": String(repeating: "d", count: 2001)],
                                    ["project_id": "nope"], ["colour": "red"]] {
            XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(id)", body, token: token).status, 422, "\(body)")
        }
        let other = try server.assetUser("patch-other@example.com")
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(id)", ["project_id": other.project], token: token).status, 404,
                       "moving into another user's project")
        let second = try XCTUnwrap(try server.createProject(["name": "Second"], token: token)["id"] as? String)
        let moved = try server.send("PATCH", "/v1/assets/\(id)", ["project_id": second], token: token)
        XCTAssertEqual(try moved.json()["project_id"] as? String, second)
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(id)", ["name": "n"], token: "nope").status, 401)
    }

    func testBulkActionsAreAllOrNothing() throws {
        let first = try upload("one", name: "one.txt")
        let second = try upload("two", name: "two.txt")
        let other = try server.assetUser("bulk-other@example.com")
        let foreign = try XCTUnwrap(try server.uploadAsset(Data("theirs".utf8), type: "text/plain", project: other.project,
                                                           token: other.token)["id"] as? String)
        let refused = try server.send("POST", "/v1/assets/bulk", ["action": "tag", "ids": [first, second, foreign], "tags": ["x"]], token: token)
        XCTAssertEqual(refused.status, 404, refused.text)
        XCTAssertEqual(try list("tag=x"), [], "nothing changed when one id was not the caller's")
        let tagged = try server.send("POST", "/v1/assets/bulk", ["action": "tag", "ids": [first, second], "tags": ["x"]], token: token)
        XCTAssertEqual(tagged.status, 200, tagged.text)
        XCTAssertEqual((try tagged.json()["results"] as? [[String: Any]])?.compactMap { $0["status"] as? String }, ["ok", "ok"])
        XCTAssertEqual(try list("tag=x"), ["two.txt", "one.txt"])
        XCTAssertEqual(try server.send("POST", "/v1/assets/bulk", ["action": "untag", "ids": [first], "tags": ["x"]], token: token).status, 200)
        XCTAssertEqual(try server.send("POST", "/v1/assets/bulk", ["action": "favourite", "ids": [first]], token: token).status, 200)
        XCTAssertEqual(try list("favourite=true"), ["one.txt"])
        XCTAssertEqual(try server.send("POST", "/v1/assets/bulk", ["action": "archive", "ids": [first, second]], token: token).status, 200)
        XCTAssertEqual(try list(""), [])
        XCTAssertEqual(try server.send("POST", "/v1/assets/bulk", ["action": "unarchive", "ids": [first]], token: token).status, 200)
        let target = try XCTUnwrap(try server.createProject(["name": "Target"], token: token)["id"] as? String)
        XCTAssertEqual(try server.send("POST", "/v1/assets/bulk", ["action": "move", "ids": [first], "project_id": target], token: token).status, 200)
        XCTAssertEqual(try list("project_id=\(target)"), ["one.txt"])
        let deleteRefused = try server.send("POST", "/v1/assets/bulk", ["action": "delete", "ids": [first, foreign]], token: token)
        XCTAssertEqual(deleteRefused.status, 404)
        XCTAssertEqual(try server.get("/v1/assets/\(first)", token: token).status, 200, "a refused bulk delete deletes nothing")
        XCTAssertEqual(try server.send("POST", "/v1/assets/bulk", ["action": "delete", "ids": [first, second]], token: token).status, 200)
        XCTAssertEqual(try server.get("/v1/assets/\(first)", token: token).status, 404)
        let tooMany = (0...500).map { _ in UUID().uuidString }
        for body: [String: Any] in [["action": "explode", "ids": [first]], ["action": "archive", "ids": tooMany], ["action": "tag", "ids": [first]],
                                    ["action": "move", "ids": [first]], ["action": "archive", "ids": []], ["action": "archive", "ids": [first], "tags": ["x"]]] {
            XCTAssertEqual(try server.send("POST", "/v1/assets/bulk", body, token: token).status, 422, "\(body)")
        }
        XCTAssertEqual(try server.connect().request("POST", "/v1/assets/bulk", headers: ["Authorization": "Bearer \(token)",
                                                                                        "Content-Type": "application/json"], body: Data("[".utf8)).status, 400)
        XCTAssertEqual(try server.post("/v1/assets/bulk", ["action": "archive", "ids": [first]]).status, 401)
    }

    func testLineageIsQueryableBothWays() throws {
        let parent = try upload("source", name: "source.txt")
        let child = try XCTUnwrap(try server.uploadAsset(Data("derived".utf8), type: "text/plain", project: project,
                                                         query: "&parent_ids=\(parent)", token: token)["id"] as? String)
        let down = try server.get("/v1/assets/\(parent)/lineage", token: token)
        XCTAssertEqual(down.status, 200)
        XCTAssertEqual(try down.json()["children"] as? [String], [child])
        let up = try server.get("/v1/assets/\(child)/lineage", token: token)
        XCTAssertEqual(try up.json()["parents"] as? [String], [parent])
        XCTAssertTrue(try up.json()["generation_id"] is NSNull)
        let other = try server.assetUser("lineage-other@example.com")
        let foreignParent = try server.upload(Data("x".utf8), type: "text/plain", project: other.project, query: "&parent_ids=\(parent)",
                                              token: other.token)
        XCTAssertEqual(foreignParent.status, 404, "another user's asset cannot be a parent")
        let sweep = StorageSweep(store: server.environment.assets.store, blobs: server.environment.assets.blobs)
        XCTAssertEqual(try sweep.run(delete: false).orphanBlobs, [], "the refused upload's blob was removed again")
        XCTAssertEqual(try server.get("/v1/assets/\(UUID().uuidString)/lineage", token: token).status, 404)
    }

    func testIdenticalContentIsStoredOnceAndDeletedWithItsLastAsset() throws {
        let first = try server.uploadAsset(Data("same bytes".utf8), type: "text/plain", project: project, token: token)
        let second = try server.uploadAsset(Data("same bytes".utf8), type: "text/plain", project: project, token: token)
        XCTAssertEqual(first["sha256"] as? String, second["sha256"] as? String)
        XCTAssertNotEqual(first["id"] as? String, second["id"] as? String)
        let blobs = server.environment.assets.blobs
        let key = try XCTUnwrap(try blobs.keys().first { $0.hasSuffix(first["sha256"] as? String ?? "-") })
        XCTAssertEqual(try blobs.keys().filter { $0 == key }.count, 1, "one file for both assets")
        XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(first["id"] as? String ?? "")", token: token).status, 204)
        XCTAssertTrue(try blobs.exists(key), "the other asset still uses the blob")
        XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(second["id"] as? String ?? "")", token: token).status, 204)
        XCTAssertFalse(try blobs.exists(key), "the last asset's delete removes the blob")
        XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(second["id"] as? String ?? "")", token: token).status, 404)
        XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(UUID().uuidString)", token: "bad").status, 401)
    }

    func testImagesGetAThumbnailWhenFFmpegIsInstalled() throws {
        let asset = try server.uploadAsset(MediaSamples.png(width: 640, height: 480), type: "image/png", project: project, token: token)
        let id = try XCTUnwrap(asset["id"] as? String)
        guard server.environment.assets.tools.ffmpeg != nil else {
            XCTAssertEqual((asset["preview"] as? [String: Any])?["thumbnail"] as? String, "unavailable")
            return
        }
        var state = "pending"
        let deadline = Date().addingTimeInterval(20)
        var preview: [String: Any] = [:]
        while state == "pending", Date() < deadline {
            preview = try server.get("/v1/assets/\(id)", token: token).json()["preview"] as? [String: Any] ?? [:]
            state = preview["thumbnail"] as? String ?? "?"
            if state == "pending" { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertEqual(state, "ready")
        XCTAssertEqual(preview["thumbnail_url"] as? String, "/v1/assets/\(id)/thumbnail")
        let thumbnail = try server.get("/v1/assets/\(id)/thumbnail", token: token)
        XCTAssertEqual(thumbnail.status, 200)
        XCTAssertEqual(thumbnail.header("content-type"), "image/jpeg")
        XCTAssertEqual(Array(thumbnail.body.prefix(3)), [0xFF, 0xD8, 0xFF])
    }
}
