@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// What stops a request to `/v1/chat/completions` before the surface runs (another method, a body
/// over the limit) is answered in OpenAI's envelope too, since OpenAI's clients read
/// `error.message`; other paths keep problem+json.
final class ChatUnroutedErrorTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    private func assertEnvelope(_ response: HTTPTestConnection.Response, status: Int, code: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(response.status, status, response.text, file: file, line: line)
        XCTAssertEqual(response.header("content-type"), "application/json", file: file, line: line)
        let error = try XCTUnwrap(try response.json()["error"] as? [String: Any], response.text, file: file, line: line)
        XCTAssertEqual(error["code"] as? String, code, file: file, line: line)
        XCTAssertNotNil(error["message"] as? String, file: file, line: line)
    }

    func testAnotherMethodIs405InTheEnvelopeWithItsAllowHeader() throws {
        let response = try server.connect().request("GET", "/v1/chat/completions", headers: [:])
        try assertEnvelope(response, status: 405, code: "method_not_allowed")
        XCTAssertEqual(response.header("allow"), "POST")
        let elsewhere = try server.connect().request("DELETE", "/v1/assets", headers: [:])
        XCTAssertEqual(elsewhere.status, 405)
        XCTAssertEqual(elsewhere.header("content-type"), "application/problem+json")
    }

    func testABodyOverTheLimitIs413InTheEnvelope() throws {
        let body = Data(repeating: UInt8(ascii: " "), count: 2 << 20)
        let response = try HTTPTestConnection(port: server.port, timeoutSeconds: 30).request("POST", "/v1/chat/completions", headers: [
            "Content-Type": "application/json", "Authorization": "Bearer x"], body: body)
        try assertEnvelope(response, status: 413, code: "payload_too_large")
    }
}
