@testable import APIServer
import Foundation
import Persistence
import TestSupport
import XCTest

/// `STORAGE_QUOTA_BYTES`: a user keeps at most that many bytes of assets. An upload that would pass
/// it is 403 `storage_quota_exceeded` (on its declared length before any byte is read, or the moment
/// a chunked body crosses the room left), new generations are refused once it is reached, and
/// deleting assets makes room at once.
final class StorageQuotaTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["STORAGE_QUOTA_BYTES": "3000"])
    }

    override func tearDown() {
        server?.stop()
    }

    private func text(_ count: Int, _ letter: Character = "a") -> Data { Data(String(repeating: letter, count: count).utf8) }

    private func assertQuotaRefusal(_ response: HTTPTestConnection.Response, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(response.status, 403, response.text, file: file, line: line)
        XCTAssertEqual(try response.json()["code"] as? String, "storage_quota_exceeded", file: file, line: line)
    }

    private func assetCount(_ project: String, token: String) throws -> Int {
        (try server.get("/v1/assets?project_id=\(project)", token: token).json()["data"] as? [Any])?.count ?? -1
    }

    func testUploadsFitUpToTheQuotaAndDeletingMakesRoom() throws {
        let (token, project) = try server.assetUser("quota-fill@example.com")
        let first = try server.uploadAsset(text(1000), type: "text/plain", project: project, token: token)
        _ = try server.uploadAsset(text(1500, "b"), type: "text/plain", project: project, token: token)
        let over = try server.upload(text(501, "c"), type: "text/plain", project: project, token: token)
        try assertQuotaRefusal(over)
        XCTAssertTrue(over.text.contains("2500 of the 3000 bytes"), over.text)
        _ = try server.uploadAsset(text(500, "c"), type: "text/plain", project: project, token: token)
        try assertQuotaRefusal(try server.upload(text(1, "d"), type: "text/plain", project: project, token: token))
        XCTAssertEqual(try assetCount(project, token: token), 3, "the refused uploads stored nothing")

        XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(first["id"] as? String ?? "")", token: token).status, 204)
        _ = try server.uploadAsset(text(1000, "e"), type: "text/plain", project: project, token: token)
        let other = try server.assetUser("quota-other@example.com")
        _ = try server.uploadAsset(text(3000, "f"), type: "text/plain", project: other.project, token: other.token)
    }

    /// Declared: refused on the headers, no body byte sent. Chunked: refused once it crosses the room.
    func testABodyThatCannotFitIsRefusedBeforeOrWhileItArrives() throws {
        let (token, project) = try server.assetUser("quota-stream@example.com")
        _ = try server.uploadAsset(text(2000), type: "text/plain", project: project, token: token)
        let declared = try HTTPTestConnection(port: server.port, timeoutSeconds: 10)
        try declared.send("POST /v1/assets?project_id=\(project) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                          + "Content-Type: text/plain\r\nContent-Length: 1001\r\n\r\n")
        try assertQuotaRefusal(try declared.readResponse())

        let chunked = try HTTPTestConnection(port: server.port, timeoutSeconds: 10)
        try chunked.send("POST /v1/assets?project_id=\(project) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                         + "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<4 {
            let piece = text(400, "g")
            try chunked.send(Data((String(piece.count, radix: 16) + "\r\n").utf8) + piece + Data("\r\n".utf8))
        }
        try chunked.send("0\r\n\r\n")
        let refused = try chunked.readResponse()
        try assertQuotaRefusal(refused)
        // Refused as the third piece crossed the room of 1000, not once the whole 1600 were stored.
        XCTAssertTrue(refused.text.contains("this upload adds 1200 bytes"), refused.text)
        XCTAssertEqual(try assetCount(project, token: token), 1)
    }

    func testGenerationsAreRefusedOnceTheQuotaIsReachedAndAdmittedAgainAfterADelete() throws {
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let (token, project) = try server.assetUser("quota-generate@example.com")
        let request: [String: Any] = ["project_id": project, "type": "text", "prompt": "Hello", "provider": "local"]
        let filler = try server.uploadAsset(text(2000), type: "text/plain", project: project, token: token)
        _ = try server.uploadAsset(text(1000, "b"), type: "text/plain", project: project, token: token)

        try assertQuotaRefusal(try server.generate(request, token: token))
        try assertQuotaRefusal(try server.post("/v1/generations/batch", ["project_id": project, "items": [request.filter { $0.key != "project_id" }]],
                                               token: token))
        let list = try server.get("/v1/generations?project_id=\(project)", token: token).json()
        XCTAssertEqual((list["data"] as? [Any])?.count, 0, "nothing was admitted")
        // A chat completion kept as an asset (`store: true`) is refused the same way, in OpenAI's envelope;
        // one that keeps nothing is not.
        func chat(store: Bool) throws -> HTTPTestConnection.Response {
            try server.connect().request("POST", "/v1/chat/completions", headers: [
                "Authorization": "Bearer \(token)", "Content-Type": "application/json", "X-Project-Id": project],
                body: try JSONSerialization.data(withJSONObject: ["model": "local/offline-text", "store": store,
                                                                  "messages": [["role": "user", "content": "Hi"]]]))
        }
        let stored = try chat(store: true)
        XCTAssertEqual(stored.status, 403, stored.text)
        XCTAssertEqual((try stored.json()["error"] as? [String: Any])?["code"] as? String, "storage_quota_exceeded")
        let kept = try chat(store: false)
        XCTAssertEqual(kept.status, 200, kept.text)

        XCTAssertEqual(try server.send("DELETE", "/v1/assets/\(filler["id"] as? String ?? "")", token: token).status, 204)
        XCTAssertEqual(try server.generate(request, token: token).status, 202, "the delete made room at once")
    }
}

extension StorageQuotaTests {
    /// Admissions under the quota remember the sum for a few seconds; an upload makes the next one read it again.
    func testAnUploadAfterAnAdmittedGenerationIsCountedByTheNextOne() throws {
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let (token, project) = try server.assetUser("quota-remembered@example.com")
        let request: [String: Any] = ["project_id": project, "type": "text", "prompt": "Hello", "provider": "local"]
        let first = try server.generate(request, token: token, wait: 30)
        XCTAssertEqual(try first.json()["status"] as? String, "succeeded", first.text)
        let room = 3000 - ((try server.get("/v1/assets?project_id=\(project)", token: token).json()["data"] as? [[String: Any]])?
            .compactMap { $0["bytes"] as? Int }.reduce(0, +) ?? 0)
        _ = try server.uploadAsset(text(room), type: "text/plain", project: project, token: token)
        try assertQuotaRefusal(try server.generate(request, token: token))
    }
}
