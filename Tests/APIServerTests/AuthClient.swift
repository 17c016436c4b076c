@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// Small helpers that speak /auth/v1 to a TestServer, so flows read as scenarios.
extension TestServer {
    func post(_ path: String, _ body: [String: Any], token: String? = nil, headers: [String: String] = [:]) throws -> HTTPTestConnection.Response {
        var all = headers
        all["Content-Type"] = "application/json"
        if let token { all["Authorization"] = "Bearer \(token)" }
        return try connect().request("POST", path, headers: all, body: try JSONSerialization.data(withJSONObject: body))
    }

    func get(_ path: String, token: String?) throws -> HTTPTestConnection.Response {
        try connect().request("GET", path, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }

    func put(_ path: String, _ body: [String: Any], token: String) throws -> HTTPTestConnection.Response {
        try connect().request("PUT", path, headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"],
                              body: try JSONSerialization.data(withJSONObject: body))
    }

    struct Session {
        let accessToken: String
        let refreshToken: String
        let userID: String
    }

    func signUp(_ email: String, password: String = "correct horse battery", data: [String: Any]? = nil) throws -> Session {
        var body: [String: Any] = ["email": email, "password": password]
        if let data { body["data"] = data }
        return try session(from: post("/auth/v1/signup", body))
    }

    func signIn(_ email: String, password: String = "correct horse battery") throws -> HTTPTestConnection.Response {
        try post("/auth/v1/token?grant_type=password", ["email": email, "password": password])
    }

    func refresh(_ token: String) throws -> HTTPTestConnection.Response {
        try post("/auth/v1/token?grant_type=refresh_token", ["refresh_token": token])
    }

    func session(from response: HTTPTestConnection.Response, file: StaticString = #filePath, line: UInt = #line) throws -> Session {
        XCTAssertEqual(response.status, 200, response.text, file: file, line: line)
        let body = try response.json()
        let user = try XCTUnwrap(body["user"] as? [String: Any], file: file, line: line)
        return Session(accessToken: try XCTUnwrap(body["access_token"] as? String, file: file, line: line),
                       refreshToken: try XCTUnwrap(body["refresh_token"] as? String, file: file, line: line),
                       userID: try XCTUnwrap(user["id"] as? String, file: file, line: line))
    }
}

func assertAuthProblem(_ response: HTTPTestConnection.Response, _ status: Int, _ code: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(response.status, status, response.text, file: file, line: line)
    XCTAssertEqual(response.header("content-type"), "application/problem+json", file: file, line: line)
    XCTAssertEqual(response.header("x-sb-error-code"), code, file: file, line: line)
    XCTAssertEqual((try? response.json())?["code"] as? String, code, file: file, line: line)
}
