@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// Problems every operation of a kind documents, produced for each operation the spec lists, so
/// an operation added later is covered without anyone remembering it. Their responses also reach
/// the contract check (scripts/check-contract.py), which requires every documented status to be
/// produced by some test.
final class DocumentedStatusTests: XCTestCase {
    private var server: TestServer!
    private var document: OpenAPIDocument!

    override func setUpWithError() throws {
        server = try TestServer()
        document = try OpenAPIDocument.load()
    }

    override func tearDown() {
        server?.stop()
    }

    private struct Operation: CustomStringConvertible {
        let method: String
        let template: String
        let object: [String: Any]
        var description: String { "\(method) \(template)" }

        var hasBody: Bool { object["requestBody"] != nil }
        /// A JSON body (an upload takes the file's own type instead: AssetUploadTests covers its 415s).
        var takesJSON: Bool { ((object["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"] != nil }
        var needsToken: Bool { !((object["security"] as? [Any]) ?? []).isEmpty }

        func documents(_ status: Int) -> Bool {
            (object["responses"] as? [String: Any])?[String(status)] != nil
        }

        /// Whether this status is documented in OpenAI's error envelope (`ChatError`, the
        /// OpenAI-compatible surface) rather than as problem+json.
        func usesOpenAIEnvelope(_ status: Int) -> Bool {
            let response = (object["responses"] as? [String: Any])?[String(status)] as? [String: Any]
            let json = (response?["content"] as? [String: Any])?["application/json"] as? [String: Any]
            return ((json?["schema"] as? [String: Any])?["$ref"] as? String) == "#/components/schemas/ChatError"
        }
    }

    private func operations(documenting status: Int) -> [Operation] {
        var found: [Operation] = []
        for (template, item) in document.paths {
            for method in ["get", "put", "post", "delete", "patch"] {
                guard let object = item[method] as? [String: Any] else { continue }
                let operation = Operation(method: method.uppercased(), template: template, object: object)
                if operation.documents(status) { found.append(operation) }
            }
        }
        return found.sorted { $0.description < $1.description }
    }

    /// The template with every path parameter filled by a fresh id, and each required query
    /// parameter that has an enum given its first value.
    private func target(_ operation: Operation) -> String {
        var path = operation.template
        while let open = path.firstIndex(of: "{"), let close = path[open...].firstIndex(of: "}") {
            path.replaceSubrange(open...close, with: UUID().uuidString.lowercased())
        }
        let query = ((operation.object["parameters"] as? [Any]) ?? []).compactMap { document.resolve($0) }.compactMap { parameter -> String? in
            guard parameter["in"] as? String == "query", parameter["required"] as? Bool == true,
                  let name = parameter["name"] as? String,
                  let value = ((parameter["schema"] as? [String: Any])?["enum"] as? [Any])?.first.map({ "\($0)" }) else { return nil }
            return "\(name)=\(value)"
        }
        return query.isEmpty ? path : path + "?" + query.joined(separator: "&")
    }

    private func send(_ operation: Operation, token: String?, contentType: String?, body: String?) throws -> HTTPTestConnection.Response {
        var headers: [String: String] = [:]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        if let contentType { headers["Content-Type"] = contentType }
        return try server.connect().request(operation.method, target(operation), headers: headers, body: body.map { Data($0.utf8) })
    }

    private func assertProblem(_ response: HTTPTestConnection.Response, _ status: Int, _ code: String, _ operation: Operation,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(response.status, status, "\(operation): \(response.text)", file: file, line: line)
        if operation.usesOpenAIEnvelope(status) {
            XCTAssertEqual(response.header("content-type"), "application/json", "\(operation)", file: file, line: line)
            XCTAssertEqual(((try? response.json())?["error"] as? [String: Any])?["code"] as? String, code, "\(operation): \(response.text)",
                           file: file, line: line)
            return
        }
        XCTAssertEqual(response.header("content-type"), "application/problem+json", "\(operation)", file: file, line: line)
        XCTAssertEqual((try? response.json())?["code"] as? String, code, "\(operation): \(response.text)", file: file, line: line)
    }

    func testEveryProtectedOperationAnswers401WithoutAToken() throws {
        // `/metrics` is open unless the server sets METRICS_TOKEN (TransportTests holds its 401).
        let operations = operations(documenting: 401).filter { $0.template != "/metrics" }
        XCTAssertGreaterThanOrEqual(operations.count, 10, "the spec was read: \(operations)")
        for operation in operations {
            XCTAssertTrue(operation.needsToken, "\(operation) documents 401 but no security requirement")
            let response = try send(operation, token: nil, contentType: operation.hasBody ? "application/json" : nil,
                                    body: operation.hasBody ? "{}" : nil)
            assertProblem(response, 401, "no_authorization", operation)
        }
    }

    func testEveryOperationDocumenting415RefusesAnotherContentType() throws {
        let token = try server.signUp("media-type@example.com").accessToken
        let operations = operations(documenting: 415).filter(\.takesJSON)
        XCTAssertFalse(operations.isEmpty, "the spec was read")
        for operation in operations {
            XCTAssertTrue(operation.hasBody, "\(operation) documents 415 but takes no body")
            let response = try send(operation, token: token, contentType: "text/plain", body: "name=x")
            assertProblem(response, 415, "unsupported_media_type", operation)
        }
    }

    func testEveryOperationWithABodyDocumenting400RefusesMalformedJSON() throws {
        let token = try server.signUp("bad-json@example.com").accessToken
        let operations = operations(documenting: 400).filter(\.takesJSON)
        XCTAssertGreaterThanOrEqual(operations.count, 5, "the spec was read: \(operations)")
        for operation in operations {
            let response = try send(operation, token: token, contentType: "application/json", body: #"{"name": "x""#)
            assertProblem(response, 400, "bad_json", operation)
        }
    }

    /// Sign-up and user updates share one per-address limiter (GoTrue's), burst 30.
    func testUserUpdatesAndSignUpsAreRateLimitedTogether() throws {
        let session = try server.signUp("limited@example.com")
        var statuses: [Int] = []
        for index in 0..<40 {
            let response = try server.put("/auth/v1/user", ["data": ["n": index]], token: session.accessToken)
            statuses.append(response.status)
            if response.status == 429 {
                assertAuthProblem(response, 429, "over_request_rate_limit")
                XCTAssertGreaterThanOrEqual(Int(response.header("retry-after") ?? "") ?? 0, 1)
                break
            }
        }
        // The sign-up and 29 updates fit the burst of 30 (one more if a token refilled meanwhile:
        // 30 per 300 s is one every 10 s).
        XCTAssertTrue((30...31).contains(statuses.count), "\(statuses)")
        XCTAssertEqual(statuses.last, 429)
        XCTAssertEqual(Set(statuses.dropLast()), [200])
        assertAuthProblem(try server.post("/auth/v1/signup", ["email": "late@example.com", "password": "correct horse battery"]),
                          429, "over_request_rate_limit")
    }

    func testUpdatingTheUserAfterSignOutIs403() throws {
        let session = try server.signUp("signed-out@example.com")
        XCTAssertEqual(try server.post("/auth/v1/logout", [:], token: session.accessToken).status, 204)
        assertAuthProblem(try server.put("/auth/v1/user", ["data": ["a": 1]], token: session.accessToken), 403, "session_not_found")
    }
}
