@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// Helpers that speak /v1/projects to a TestServer.
extension TestServer {
    func send(_ method: String, _ path: String, _ body: [String: Any]? = nil, token: String, headers: [String: String] = [:]) throws
        -> HTTPTestConnection.Response {
        var all = headers
        all["Authorization"] = "Bearer \(token)"
        if body != nil { all["Content-Type"] = "application/json" }
        return try connect().request(method, path, headers: all, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
    }

    /// Creates a project and returns its JSON, failing the test on anything but 201.
    @discardableResult
    func createProject(_ body: [String: Any], token: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let response = try send("POST", "/v1/projects", body, token: token)
        XCTAssertEqual(response.status, 201, response.text, file: file, line: line)
        return try response.json()
    }

    /// Every page of a listing, following `next_cursor`; `between` runs after each page.
    func listAll(_ query: String, token: String, between: () throws -> Void = {}) throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var cursor: String?
        repeat {
            let path = "/v1/projects?\(query)" + (cursor.map { "&cursor=\($0)" } ?? "")
            let response = try send("GET", path, token: token)
            XCTAssertEqual(response.status, 200, response.text)
            let body = try response.json()
            items += body["data"] as? [[String: Any]] ?? []
            cursor = body["next_cursor"] as? String
            try between()
        } while cursor != nil
        return items
    }
}
