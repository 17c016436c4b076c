@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// A browser app on another origin can send every header the API reads and read every header it
/// documents: a preflight that refuses one request header fails the whole call, and a response
/// header not named in `Access-Control-Expose-Headers` reads as absent in `fetch`.
final class CORSHeaderTests: XCTestCase {
    private var server: TestServer!
    private let origin = "https://app.example.com"

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    /// The response headers openapi.yaml documents on its operations (each `headers:` map of a response).
    private func documentedResponseHeaders() throws -> Set<String> {
        let text = try String(contentsOf: TestServer.repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        var names = Set<String>()
        var mapIndent: Int?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let indent = line.prefix { $0 == " " }.count
            let content = line.dropFirst(indent)
            if let open = mapIndent {
                if indent <= open { mapIndent = nil } else if indent == open + 2, content.hasSuffix(":") { names.insert(String(content.dropLast())) }
            }
            // Response-level maps only; the reusable ones under components sit at indent 2.
            if content == "headers:", indent >= 8 { mapIndent = indent }
        }
        return names
    }

    func testEveryDocumentedResponseHeaderIsExposed() throws {
        // Readable without exposure (CORS-safelisted), or not for scripts at all.
        let safelisted: Set = ["cache-control", "content-type", "content-length", "cross-origin-resource-policy"]
        let documented = try documentedResponseHeaders()
        XCTAssertTrue(documented.isSuperset(of: ["X-Cost-USD", "X-Generation-Id", "ETag", "Location", "Retry-After"]),
                      "the parse found the documented headers: \(documented.sorted())")
        let response = try server.connect().request("GET", "/healthz", headers: ["Origin": origin])
        let exposed = Set((response.header("access-control-expose-headers") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        let hidden = documented.map { $0.lowercased() }.filter { !safelisted.contains($0) && !exposed.contains($0) }
        XCTAssertEqual(hidden.sorted(), [], "documented response headers a browser app could not read")
    }

    /// What a browser sends ahead of an OpenAI SDK's chat call naming a project, with a key.
    func testAChatPreflightWithTheOpenAISDKsHeadersIsAllowed() throws {
        let requested = "authorization, content-type, x-project-id, idempotency-key, x-stainless-os, x-stainless-retry-count"
        let response = try server.connect().request("OPTIONS", "/v1/chat/completions", headers: [
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": requested])
        XCTAssertEqual(response.status, 204, response.text)
        let allowed = Set((response.header("access-control-allow-headers") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) })
        for name in requested.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            XCTAssertTrue(allowed.contains(name), "\(name) is not in \(allowed.sorted())")
        }
        let revalidate = try server.connect().request("OPTIONS", "/v1/assets", headers: [
            "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization, if-none-match"])
        XCTAssertEqual(revalidate.status, 204, revalidate.text)
    }

    func testAHeaderOutsideTheListAndItsPrefixesIsStillRefused() throws {
        for requested in ["authorization, x-unknown", "x-stainless-" + String(repeating: "a", count: 60), "x-stainless-os\u{7f}"] {
            let response = try server.connect().request("OPTIONS", "/v1/chat/completions", headers: [
                "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": requested])
            XCTAssertEqual(response.status, 403, requested)
        }
    }
}
