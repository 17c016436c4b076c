@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// `GET /v1/assets/{id}/content`: Range, conditional requests, signed URLs, and isolation.
final class AssetContentTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private var project = ""
    private var assetID = ""
    /// 100 bytes that are an MP4 by their magic number, every byte distinct after the head.
    private let bytes = MediaSamples.mp4Head() + Data((0..<76).map { UInt8($0) })

    override func setUpWithError() throws {
        server = try TestServer()
        (token, project) = try server.assetUser("content@example.com")
        assetID = try XCTUnwrap(try server.uploadAsset(bytes, type: "video/mp4", project: project, token: token)["id"] as? String)
    }

    override func tearDown() {
        server?.stop()
    }

    private func content(_ headers: [String: String], query: String = "", authorised: Bool = true) throws -> HTTPTestConnection.Response {
        var all = headers
        if authorised { all["Authorization"] = "Bearer \(token)" }
        return try server.connect().request("GET", "/v1/assets/\(assetID)/content" + query, headers: all)
    }

    func testRangeEdgeCases() throws {
        let first = try content(["Range": "bytes=0-9"])
        XCTAssertEqual(first.status, 206)
        XCTAssertEqual(first.body, bytes.prefix(10))
        XCTAssertEqual(first.header("content-range"), "bytes 0-9/100")
        let suffix = try content(["Range": "bytes=-5"])
        XCTAssertEqual(suffix.status, 206)
        XCTAssertEqual(suffix.body, bytes.suffix(5))
        XCTAssertEqual(suffix.header("content-range"), "bytes 95-99/100")
        let longSuffix = try content(["Range": "bytes=-500"])
        XCTAssertEqual(longSuffix.status, 206)
        XCTAssertEqual(longSuffix.body, bytes, "a suffix longer than the content is all of it")
        let openEnded = try content(["Range": "bytes=90-"])
        XCTAssertEqual(openEnded.status, 206)
        XCTAssertEqual(openEnded.body, bytes.suffix(10))
        let pastEnd = try content(["Range": "bytes=50-5000"])
        XCTAssertEqual(pastEnd.status, 206)
        XCTAssertEqual(pastEnd.header("content-range"), "bytes 50-99/100")
        for unsatisfiable in ["bytes=100-", "bytes=200-300", "bytes=-0"] {
            let response = try content(["Range": unsatisfiable])
            XCTAssertEqual(response.status, 416, unsatisfiable)
            XCTAssertEqual(response.header("content-range"), "bytes */100", unsatisfiable)
            XCTAssertEqual(try response.json()["code"] as? String, "range_not_satisfiable")
        }
        for ignored in ["bytes=0-1,5-6", "bytes=5-2", "items=0-1", "bytes=abc"] {
            let response = try content(["Range": ignored])
            XCTAssertEqual(response.status, 200, ignored)
            XCTAssertEqual(response.body, bytes, ignored)
        }
        let etag = try XCTUnwrap(first.header("etag"))
        XCTAssertEqual(try content(["If-None-Match": etag]).status, 304)
        XCTAssertEqual(try content(["If-None-Match": etag, "Range": "bytes=0-1"]).status, 304, "If-None-Match is judged before Range")
        XCTAssertEqual(try content(["If-Range": "\"other\"", "Range": "bytes=0-1"]).status, 200, "a stale If-Range gets the whole content")
        XCTAssertEqual(try content(["If-Range": etag, "Range": "bytes=0-1"]).status, 206)
        let sideways = try content([:], query: "?disposition=sideways")
        XCTAssertEqual(sideways.status, 422, sideways.text)
        let head = try server.connect().request("HEAD", "/v1/assets/\(assetID)/content", headers: ["Authorization": "Bearer \(token)"])
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("content-length"), "100")
    }

    /// As the contract says of every optional member (and the schema now says of these), null is
    /// the same as leaving it out: an hour, inline.
    func testASignedURLRequestWithNullsGetsTheDefaults() throws {
        let before = Date()
        let created = try server.send("POST", "/v1/assets/\(assetID)/signed-url", ["expires_in": NSNull(), "disposition": NSNull()], token: token)
        XCTAssertEqual(created.status, 200, created.text)
        let url = try XCTUnwrap(try created.json()["url"] as? String)
        XCTAssertTrue(url.contains("disposition=inline"), url)
        let expires = try XCTUnwrap(Int(try XCTUnwrap(URLComponents(string: "http://x" + url)?.queryItems?.first { $0.name == "expires" }?.value)))
        XCTAssertEqual(Double(expires), before.timeIntervalSince1970 + 3600, accuracy: 5)
    }

    func testSignedURLWorksWithoutATokenUntilItExpiresAndNotWhenAltered() throws {
        let created = try server.send("POST", "/v1/assets/\(assetID)/signed-url", ["expires_in": 600, "disposition": "attachment"], token: token)
        XCTAssertEqual(created.status, 200, created.text)
        let url = try XCTUnwrap(try created.json()["url"] as? String)
        let signed = try server.connect().request("GET", url, headers: ["Origin": "https://elsewhere.example"])
        XCTAssertEqual(signed.status, 200, signed.text)
        XCTAssertEqual(signed.body, bytes)
        XCTAssertEqual(signed.header("access-control-allow-origin"), "*")
        XCTAssertEqual(signed.header("cross-origin-resource-policy"), "cross-origin")
        XCTAssertTrue(signed.header("content-disposition")?.hasPrefix("attachment;") == true)
        let ranged = try server.connect().request("GET", url, headers: ["Range": "bytes=0-3"])
        XCTAssertEqual(ranged.status, 206)
        let tampered = [url.replacingOccurrences(of: "disposition=attachment", with: "disposition=inline"),
                        url.replacingOccurrences(of: "signature=", with: "signature=A"),
                        url.replacingOccurrences(of: "expires=", with: "expires=9"),
                        url.replacingOccurrences(of: assetID, with: UUID().uuidString.lowercased())]
        for altered in tampered {
            let response = try server.connect().request("GET", altered)
            XCTAssertEqual(response.status, 403, altered)
            XCTAssertEqual(try response.json()["code"] as? String, "invalid_signature")
        }
        let user = try XCTUnwrap(URLComponents(string: "http://x" + url)?.queryItems?.first { $0.name == "user" }?.value)
        let expired = try server.environment.assets.signer.url(asset: XCTUnwrap(UUID(uuidString: assetID)), user: XCTUnwrap(UUID(uuidString: user)),
                                                               disposition: .inline, expires: Int64(Date().timeIntervalSince1970) - 1)
        XCTAssertEqual(try server.connect().request("GET", expired).status, 403, "an expired URL")
        for body: [String: Any] in [["expires_in": 0], ["expires_in": 8 * 24 * 3600], ["disposition": "sideways"]] {
            XCTAssertEqual(try server.send("POST", "/v1/assets/\(assetID)/signed-url", body, token: token).status, 422, "\(body)")
        }
        let badJSON = try server.connect().request("POST", "/v1/assets/\(assetID)/signed-url",
                                                   headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: Data("{".utf8))
        XCTAssertEqual(badJSON.status, 400)
        XCTAssertEqual(try server.post("/v1/assets/\(assetID)/signed-url", [:]).status, 401)
    }

    func testAnotherUsersAssetIsInvisibleEverywhere() throws {
        let other = try server.assetUser("other@example.com")
        for path in ["/v1/assets/\(assetID)", "/v1/assets/\(assetID)/content", "/v1/assets/\(assetID)/lineage", "/v1/assets/\(assetID)/thumbnail"] {
            XCTAssertEqual(try server.get(path, token: other.token).status, 404, path)
        }
        XCTAssertEqual(try server.send("PATCH", "/v1/assets/\(assetID)", ["name": "mine"], token: other.token).status, 404)
        XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(assetID)", token: other.token).status, 404)
        XCTAssertEqual(try server.send("POST", "/v1/assets/\(assetID)/signed-url", [:], token: other.token).status, 404)
        let listed = try server.get("/v1/assets", token: other.token)
        XCTAssertEqual((try listed.json()["data"] as? [Any])?.count, 0)
        XCTAssertEqual(try server.get("/v1/assets/\(assetID)/content", token: token).status, 200, "the owner still reads it")
        for path in ["/v1/assets", "/v1/assets/\(assetID)", "/v1/assets/\(assetID)/content", "/v1/assets/\(assetID)/lineage",
                     "/v1/assets/\(assetID)/thumbnail"] {
            XCTAssertEqual(try server.get(path, token: nil).status, 401, path)
        }
    }
}
