@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// The one body decoder every JSON operation uses: unknown members, wrong types, exact numbers,
/// nesting, duplicate keys and NUL, answered as problems that name the member by its wire path.
final class StrictBodyTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private var projectID = ""

    override func setUpWithError() throws {
        server = try TestServer()
        token = try server.signUp("strict@example.com").accessToken
        projectID = try XCTUnwrap(try server.createProject(["name": "Strict"], token: token)["id"] as? String)
    }

    override func tearDown() {
        server?.stop()
    }

    private func raw(_ method: String, _ path: String, _ body: String, token: String? = nil) throws -> HTTPTestConnection.Response {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try server.connect().request(method, path, headers: headers, body: Data(body.utf8))
    }

    private func fields(_ response: HTTPTestConnection.Response, code: String) throws -> [String] {
        XCTAssertEqual(response.status, 422, response.text)
        XCTAssertEqual(response.header("content-type"), "application/problem+json")
        let body = try response.json()
        XCTAssertEqual(body["code"] as? String, code, response.text)
        return (body["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    func testTyposAreUnknownFieldsNamedWithTheirPath() throws {
        let quote = try server.post("/v1/quotes", ["project_id": projectID, "type": "text", "prompt": "hi", "params": ["n": 2]], token: token)
        XCTAssertEqual(try fields(quote, code: "unknown_field"), ["params"])
        let nested = try server.post("/v1/quotes", ["project_id": projectID, "type": "image", "prompt": "hi", "parameters": ["nn": 2, "size": "512x512"]],
                                     token: token)
        XCTAssertEqual(try fields(nested, code: "unknown_field"), ["parameters.nn"])
        let camel = try server.post("/v1/quotes", ["projectId": projectID, "project_id": projectID, "type": "text", "prompt": "hi"], token: token)
        XCTAssertEqual(try fields(camel, code: "unknown_field"), ["projectId"], "only snake_case wire names are members")

        let project = try server.send("POST", "/v1/projects", ["name": "Typo", "budget_limit_usd": "5"], token: token)
        XCTAssertEqual(try fields(project, code: "unknown_field"), ["budget_limit_usd"])
        let patch = try server.send("PATCH", "/v1/projects/\(projectID)", ["name": "Read back", "version": 1, "budget": [:]], token: token)
        XCTAssertEqual(try fields(patch, code: "unknown_field"), ["budget", "version"])
        XCTAssertEqual(try server.send("GET", "/v1/projects/\(projectID)", token: token).json()["name"] as? String, "Strict", "nothing was written")
    }

    func testAuthAndKeyBodiesAreStrictToo() throws {
        let signup = try server.post("/auth/v1/signup", ["email": "typo@example.com", "password": "correct horse battery", "dta": ["a": 1]])
        XCTAssertEqual(try fields(signup, code: "unknown_field"), ["dta"])
        let signIn = try server.post("/auth/v1/token?grant_type=password", ["email": "strict@example.com", "password": "correct horse battery", "pasword": "x"])
        XCTAssertEqual(try fields(signIn, code: "unknown_field"), ["pasword"])
        let update = try server.put("/auth/v1/user", ["data": ["nested": ["free": "form"]], "passwd": "x"], token: token)
        XCTAssertEqual(try fields(update, code: "unknown_field"), ["passwd"], "metadata is free-form; only the typo is unknown")
        let key = try server.post("/v1/api-keys", ["provider": "openai", "label": "k", "key": "sk-proj-" + ApiKeyTests.hex(48), "labels": "x"], token: token)
        XCTAssertEqual(try fields(key, code: "unknown_field"), ["labels"])
    }

    func testWrongTypesAndOutOfRangeNumbersAreNamedWithoutSwiftTypeNames() throws {
        let wrongType = try raw("POST", "/v1/quotes", #"{"project_id":"\#(projectID)","type":"image","prompt":"hi","parameters":{"count":"two"}}"#, token: token)
        XCTAssertEqual(try fields(wrongType, code: "validation_failed"), ["parameters.count"])
        XCTAssertFalse(wrongType.text.contains("Int") || wrongType.text.contains("String"), wrongType.text)
        for number in ["9223372036854775808", "1e309", "2.5", "1e2"] {
            let response = try raw("POST", "/v1/quotes", #"{"project_id":"\#(projectID)","type":"image","prompt":"hi","parameters":{"count":\#(number)}}"#, token: token)
            XCTAssertEqual(try fields(response, code: "validation_failed"), ["parameters.count"], number)
        }
        let prompt = try raw("POST", "/v1/quotes", #"{"project_id":"\#(projectID)","type":"text","prompt":12}"#, token: token)
        XCTAssertEqual(try fields(prompt, code: "validation_failed"), ["prompt"])
        let nul = try raw("POST", "/v1/api-keys", #"{"provider":"openai","label":"a\u0000b","key":"sk-proj-\#(ApiKeyTests.hex(48))"}"#, token: token)
        XCTAssertEqual(try fields(nul, code: "validation_failed"), ["label"])
    }

    func testMalformedBodiesAre400() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let bodies = [
            #"{"name":"a","name":"b"}"#,
            #"{"name":"\#(deep)"}"#.replacingOccurrences(of: "\"\(deep)\"", with: deep),
            #"{"name":NaN}"#,
            #"["name"]"#,
            #"{"name":"\ud800"}"#,
        ]
        for body in bodies {
            let response = try raw("POST", "/v1/projects", body, token: token)
            XCTAssertEqual(response.status, body.count > 60_000 ? 413 : 400, String(body.prefix(40)))
            XCTAssertEqual(response.header("content-type"), "application/problem+json")
        }
        let nested = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let tooDeep = try raw("POST", "/v1/projects", #"{"name":\#(nested)}"#, token: token)
        XCTAssertEqual(tooDeep.status, 400, tooDeep.text)
        XCTAssertTrue(tooDeep.text.contains("64"), tooDeep.text)
        var invalid = Data(#"{"name":"a"#.utf8)
        invalid.append(contentsOf: [0xFF, 0xFE])
        invalid.append(contentsOf: Data(#""}"#.utf8))
        let bytes = try server.connect().request("POST", "/v1/projects", headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"],
                                                  body: invalid)
        XCTAssertEqual(bytes.status, 400, bytes.text)
        XCTAssertEqual(try server.connect().request("GET", "/healthz").status, 200)
    }

    /// 60 family emoji are 60 characters to Swift's `count` and 420 to PostgreSQL's `char_length`:
    /// the API must count like the database, so the answer is a 422, not a check violation.
    func testLengthsCountUnicodeScalarsLikeTheDatabase() throws {
        let family = String(repeating: "👨‍👩‍👧‍👦", count: 60)
        XCTAssertEqual(family.count, 60)
        let project = try server.send("POST", "/v1/projects", ["name": family], token: token)
        XCTAssertEqual(try fields(project, code: "validation_failed"), ["name"])
        let label = try server.post("/v1/api-keys", ["provider": "openai", "label": family, "key": "sk-proj-" + ApiKeyTests.hex(48)], token: token)
        XCTAssertEqual(try fields(label, code: "validation_failed"), ["label"])
        // At the limit in scalars (14 × 7 = 98, plus two letters) both are accepted.
        let fits = String(repeating: "👨‍👩‍👧‍👦", count: 14) + "ok"
        XCTAssertEqual(try server.send("POST", "/v1/projects", ["name": fits], token: token).status, 201)
        XCTAssertEqual(try server.post("/v1/api-keys", ["provider": "openai", "label": fits, "key": "sk-proj-" + ApiKeyTests.hex(48)], token: token).status, 201)
        XCTAssertFalse(server.logLines.all.contains { $0.contains("unhandled error") }, "no 500 logged the row")
    }
}

extension StrictBodyTests {
    /// supabase-js sends these on sign-up and sign-in; GoTrue accepts them, so this server does too.
    func testSupabaseClientMembersAreAcceptedAndEverythingElseIsNot() throws {
        let signUp = try raw("POST", "/auth/v1/signup", #"{"email":"js@example.com","password":"correct horse battery","data":{},"gotrue_meta_security":{},"code_challenge":null,"code_challenge_method":null}"#)
        XCTAssertEqual(signUp.status, 200, signUp.text)
        let signIn = try raw("POST", "/auth/v1/token?grant_type=password", #"{"email":"js@example.com","password":"correct horse battery","gotrue_meta_security":{"captcha_token":null}}"#)
        XCTAssertEqual(signIn.status, 200, signIn.text)
        let other = try raw("POST", "/auth/v1/signup", #"{"email":"js2@example.com","password":"correct horse battery","captcha":1}"#)
        XCTAssertEqual(try fields(other, code: "unknown_field"), ["captcha"], "only the members supabase-js sends are ignored")
    }
}

extension StrictBodyTests {
    func testThousandsOfUnknownMembersGiveABoundedAnswer() throws {
        let members = (0..<3_000).map { #""k\#($0)":0"# }.joined(separator: ",")
        let response = try raw("POST", "/v1/projects", #"{"name":"Many",\#(members)}"#, token: token)
        XCTAssertEqual(try fields(response, code: "unknown_field").count, Problem.maximumFieldErrors)
        XCTAssertTrue((try response.json()["detail"] as? String ?? "").hasSuffix("and 2980 more."), response.text)
        XCTAssertLessThan(response.body.count, 8_000)
    }
}
