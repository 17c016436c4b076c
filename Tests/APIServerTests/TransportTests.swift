@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// Real loopback HTTP against the real libmicrohttpd server.
final class TransportTests: XCTestCase {
    private var server: TestServer!

    private struct Echo: Codable { let name: String; let count: Int }

    override func setUpWithError() throws {
        server = try TestServer(extraRoutes: { _ in [
            Route("POST", "/test/echo", "testEcho") { request in
                try .json(try request.decodeBody(Echo.self), status: 201)
            },
            Route("GET", "/test/items/{id}", "testItem") { request in
                try .json(["id": request.pathParameters["id"] ?? "", "q": request.query["q"] ?? ""])
            },
            Route("GET", "/test/items/special", "testSpecial") { _ in try .json(["special": true]) },
            Route("GET", "/test/slow", "testSlow") { _ in
                usleep(400_000)
                return try .json(["slow": "done"])
            },
        ] })
    }

    override func tearDown() {
        server?.stop()
    }

    func testKeepAliveReusesOneConnection() throws {
        let connection = try server.connect()
        let first = try connection.request("GET", "/healthz")
        XCTAssertEqual(first.status, 200)
        XCTAssertNil(first.header("connection").flatMap { $0.lowercased() == "close" ? $0 : nil })
        // The same socket answers a second request: the connection was kept alive.
        let second = try connection.request("GET", "/healthz")
        XCTAssertEqual(second.status, 200)
        XCTAssertEqual(try second.json()["status"] as? String, "ok")
        XCTAssertNotEqual(first.header("x-request-id"), second.header("x-request-id"))
    }

    func testUnknownPathIsA404Problem() throws {
        let response = try server.connect().request("GET", "/v1/nothing-here")
        try assertProblem(response, status: 404, code: "not_found")
    }

    func testWrongMethodIsA405WithAllow() throws {
        let response = try server.connect().request("DELETE", "/healthz")
        try assertProblem(response, status: 405, code: "method_not_allowed")
        XCTAssertEqual(response.header("allow"), "GET, HEAD")
    }

    func testHeadAnswersLikeGetWithoutABody() throws {
        let connection = try server.connect()
        let head = try connection.request("HEAD", "/healthz")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("content-length"), "15")
        XCTAssertTrue(head.body.isEmpty)
        XCTAssertEqual(try connection.request("GET", "/healthz").status, 200, "framing intact after HEAD")
    }

    func testPathParametersQueryAndLiteralPrecedence() throws {
        let connection = try server.connect()
        let item = try connection.request("GET", "/test/items/abc-123?q=hello%20world&q=ignored")
        XCTAssertEqual(try item.json() as? [String: String], ["id": "abc-123", "q": "hello world"])
        let special = try connection.request("GET", "/test/items/special")
        XCTAssertEqual(try special.json()["special"] as? Bool, true)
    }

    /// libmicrohttpd decodes `%00` into the value; read as a C string it was silently cut there.
    func testQueryWithNULOrInvalidUTF8IsRefusedNotAltered() throws {
        let connection = try server.connect()
        let accented = try connection.request("GET", "/test/items/abc?q=%C3%89lan")
        XCTAssertEqual(try accented.json()["q"] as? String, "Élan", "control: valid UTF-8 passes unchanged")
        for query in ["q=a%00b", "q=%FF%FE", "q%00=x", "q=ok&r=%C3"] {
            try assertProblem(try connection.request("GET", "/test/items/abc?\(query)"), status: 400, code: "bad_query")
        }
    }

    func testDeclaredOversizedBodyGets413() throws {
        let connection = try server.connect()
        try connection.send("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
        let response = try connection.readResponse()
        try assertProblem(response, status: 413, code: "payload_too_large")
        XCTAssertEqual(response.header("connection")?.lowercased(), "close")
    }

    func testChunkedOversizedBodyGets413NotAReset() throws {
        let connection = try server.connect()
        try connection.send("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = String(repeating: "x", count: 16_384)
        for _ in 0..<6 {  // 96 KiB against a 64 KiB limit
            try connection.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n")
        }
        try connection.send("0\r\n\r\n")
        try assertProblem(try connection.readResponse(), status: 413, code: "payload_too_large")
    }

    func testBodyWithinTheLimitIsDecoded() throws {
        let body = Data(#"{"name":"clip","count":3}"#.utf8)
        let response = try server.connect().request("POST", "/test/echo", headers: ["Content-Type": "application/json; charset=utf-8"], body: body)
        XCTAssertEqual(response.status, 201)
        XCTAssertEqual(try response.json()["name"] as? String, "clip")
    }

    func testMalformedJSONIs400BadJSON() throws {
        let connection = try server.connect()
        let broken = try connection.request("POST", "/test/echo", headers: ["Content-Type": "application/json"], body: Data("{\"name\":".utf8))
        try assertProblem(broken, status: 400, code: "bad_json")
        let wrongShape = try connection.request("POST", "/test/echo", headers: ["Content-Type": "application/json"],
                                                body: Data(#"{"name":"a","count":"three"}"#.utf8))
        // Well-formed JSON of the wrong type is a per-field 422 in wire terms, never a Swift type name.
        try assertProblem(wrongShape, status: 422, code: "validation_failed")
        XCTAssertEqual((try wrongShape.json()["errors"] as? [[String: Any]])?.first?["field"] as? String, "count")
        XCTAssertFalse(wrongShape.text.contains("Int"), wrongShape.text)
    }

    func testWrongContentTypeIs415() throws {
        let response = try server.connect().request("POST", "/test/echo", headers: ["Content-Type": "text/plain"], body: Data("hi".utf8))
        try assertProblem(response, status: 415, code: "unsupported_media_type")
    }

    func testOversizedHeadersAre431() throws {
        let connection = try server.connect()
        let response = try connection.request("GET", "/healthz", headers: ["X-Padding": String(repeating: "a", count: 40_000)])
        XCTAssertEqual(response.status, 431)
    }

    func testLargeRealisticHeadersFitTheDefaultLimit() throws {
        // A long bearer token, one cookie of the 4 KB browsers allow, the usual browser headers.
        let connection = try server.connect()
        let response = try connection.request("GET", "/healthz", headers: [
            "Authorization": "Bearer " + String(repeating: "t", count: 2_000),
            "Cookie": "session=" + String(repeating: "c", count: 4_000),
            "User-Agent": String(repeating: "u", count: 300),
            "Accept-Language": String(repeating: "l", count: 200),
        ])
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(try connection.request("GET", "/healthz").status, 200)
    }

    func testRequestIdIsEchoedWhenPlainAndReplacedOtherwise() throws {
        let connection = try server.connect()
        XCTAssertEqual(try connection.request("GET", "/healthz", headers: ["X-Request-Id": "trace-42.a:b_c"]).header("x-request-id"), "trace-42.a:b_c")
        let replaced = try connection.request("GET", "/healthz", headers: ["X-Request-Id": "bad id\" {injected}"]).header("x-request-id")
        XCTAssertNotNil(replaced.flatMap(UUID.init(uuidString:)))
        let tooLong = try connection.request("GET", "/healthz", headers: ["X-Request-Id": String(repeating: "a", count: 129)]).header("x-request-id")
        XCTAssertNotNil(tooLong.flatMap(UUID.init(uuidString:)))
    }

    func testEveryResponseIsNosniffAndProblemsCarryTheRequestId() throws {
        let response = try server.connect().request("GET", "/nope", headers: ["X-Request-Id": "abc"])
        XCTAssertEqual(response.header("x-content-type-options"), "nosniff")
        XCTAssertEqual(try response.json()["request_id"] as? String, "abc")
    }

    func testTwoHundredConcurrentRequestsAreAllAnswered() throws {
        let port = server.port
        let statuses = LockedLines()
        let threads = (0..<200).map { _ in
            Thread {
                let status = (try? HTTPTestConnection(port: port).request("GET", "/healthz").status) ?? -1
                statuses.append(String(status))
            }
        }
        threads.forEach { $0.start() }
        let deadline = Date().addingTimeInterval(30)
        while statuses.all.count < 200 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(statuses.all.count, 200)
        XCTAssertEqual(statuses.all.filter { $0 == "200" }.count, 200)
    }

    func testCORSPreflightForAnAllowedOrigin() throws {
        let response = try server.connect().request("OPTIONS", "/healthz", headers: [
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, content-type",
        ])
        XCTAssertEqual(response.status, 204)
        XCTAssertEqual(response.header("access-control-allow-origin"), "https://app.example.com")
        XCTAssertEqual(response.header("access-control-allow-methods"), "GET, HEAD")
        XCTAssertTrue(response.header("access-control-allow-headers")?.contains("authorization") == true)
        XCTAssertEqual(response.header("access-control-max-age"), "600")
    }

    func testCORSPreflightForAnUnknownOriginIsRefused() throws {
        let response = try server.connect().request("OPTIONS", "/healthz", headers: [
            "Origin": "https://evil.example.net", "Access-Control-Request-Method": "GET",
        ])
        try assertProblem(response, status: 403, code: "cors_rejected")
        XCTAssertNil(response.header("access-control-allow-origin"))
    }

    func testSimpleCORSRequestGetsAllowOriginOnlyForAllowedOrigins() throws {
        let connection = try server.connect()
        let allowed = try connection.request("GET", "/healthz", headers: ["Origin": "https://app.example.com"])
        XCTAssertEqual(allowed.header("access-control-allow-origin"), "https://app.example.com")
        XCTAssertEqual(allowed.header("vary"), "Origin")
        let other = try connection.request("GET", "/healthz", headers: ["Origin": "https://other.example.com"])
        XCTAssertNil(other.header("access-control-allow-origin"))
    }

    func testGracefulStopFinishesTheRequestInFlight() throws {
        let port = server.port
        let result = LockedLines()
        let slow = Thread {
            let response = try? HTTPTestConnection(port: port).request("GET", "/test/slow")
            result.append("\(response?.status ?? -1) \(response?.text ?? "")")
        }
        slow.start()
        // Wait until the slow request is inside its handler.
        let deadline = Date().addingTimeInterval(5)
        while server.environment.metrics.inFlight.load(ordering: .relaxed) == 0 && Date() < deadline { usleep(1000) }
        let unfinished = server.server.stop(grace: 5)
        XCTAssertEqual(unfinished, 0)
        while result.all.isEmpty && Date() < deadline { usleep(1000) }
        XCTAssertEqual(result.all, [#"200 {"slow":"done"}"#])
        XCTAssertThrowsError(try HTTPTestConnection(port: port), "no longer accepting")
    }

    func testARequestThatBeginsWhileStoppingIs503ShuttingDown() throws {
        let port = server.port
        let slow = Thread { _ = try? HTTPTestConnection(port: port).request("GET", "/test/slow") }
        slow.start()
        let deadline = Date().addingTimeInterval(5)
        while server.environment.metrics.inFlight.load(ordering: .relaxed) == 0 && Date() < deadline { usleep(1000) }
        // Connected before the stop, so the request (not the connection) is what arrives while stopping.
        let late = try HTTPTestConnection(port: port)
        let httpServer: HTTPServer = server.server
        let stopped = DispatchSemaphore(value: 0)
        let stopping = Thread { _ = httpServer.stop(grace: 5); stopped.signal() }
        stopping.start()
        // tearDown stops the server too; two stops at once would stop the daemon twice.
        defer { stopped.wait() }
        while !server.server.shuttingDown.load(ordering: .acquiring) && Date() < deadline { usleep(1000) }
        let response = try late.request("GET", "/healthz")
        try assertProblem(response, status: 503, code: "shutting_down")
        XCTAssertEqual(response.header("retry-after"), "1")
        XCTAssertEqual(response.header("connection")?.lowercased(), "close")
        XCTAssertGreaterThan(server.environment.metrics.inFlight.load(ordering: .relaxed), 0,
                             "the slow request was still being served when the late one was refused")
    }

    func testAccessLogHasOneSafeLinePerRequest() throws {
        let connection = try server.connect()
        let bearer = SampleKeys.openAI(), queryToken = SampleKeys.google()
        _ = try connection.request("GET", "/test/items/42?token=\(queryToken)", headers: ["Authorization": "Bearer \(bearer)", "X-Request-Id": "log-check"])
        let line = try XCTUnwrap(server.logLines.all.first { $0.contains("\"log-check\"") })
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["route"] as? String, "/test/items/{id}")
        XCTAssertEqual(object["method"] as? String, "GET")
        XCTAssertEqual(object["status"] as? Int, 200)
        XCTAssertNotNil(object["duration_ms"] as? Double)
        XCTAssertNotNil(object["bytes"] as? Int)
        XCTAssertNotNil(object["time"] as? String)
        if let leak = KeyLeakDetector(keys: [bearer, queryToken]).firstLeak(in: server.logLines.all) {
            XCTFail("a piece of a credential (\(leak.piece)) in the log: \(leak.text)")
        }
    }

    func testMetricsCountRequestsByRouteAndReportThePool() throws {
        let connection = try server.connect()
        _ = try connection.request("GET", "/healthz")
        _ = try connection.request("GET", "/missing")
        let text = try connection.request("GET", "/metrics").text
        XCTAssertTrue(text.contains(#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#), text)
        XCTAssertTrue(text.contains(#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#))
        XCTAssertTrue(text.contains(#"http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 1"#))
        XCTAssertTrue(text.contains(#"db_pool_connections{state="idle"}"#))
        XCTAssertTrue(text.contains("process_resident_memory_bytes "))
    }

    /// With METRICS_TOKEN set, only a scraper sending it reads the metrics (they name every route and
    /// the pool's size and state, which a server reachable from outside need not tell anyone).
    func testMetricsTokenKeepsTheMetricsToItsHolder() throws {
        server.stop()
        let token = "metrics-" + String(repeating: "k7Q2x9Lp", count: 4)
        server = try TestServer(environment: ["METRICS_TOKEN": token])
        for headers in [[:], ["Authorization": "Bearer wrong"], ["Authorization": "Bearer \(token)x"], ["Authorization": token]] {
            let refused = try server.connect().request("GET", "/metrics", headers: headers)
            try assertProblem(refused, status: 401, code: "invalid_metrics_token")
            XCTAssertEqual(refused.header("www-authenticate"), "Bearer")
        }
        let allowed = try server.connect().request("GET", "/metrics", headers: ["Authorization": "Bearer \(token)"])
        XCTAssertEqual(allowed.status, 200, allowed.text)
        XCTAssertTrue(allowed.text.contains("process_resident_memory_bytes "))
        guard case .failure(let weak) = AppConfig.load(from: ["METRICS_TOKEN": "short"], requireSecrets: false) else {
            return XCTFail("a weak token is refused at start-up")
        }
        XCTAssertTrue(String(describing: weak).contains("METRICS_TOKEN is too weak"), String(describing: weak))
        XCTAssertFalse(String(describing: weak).contains("short"), "the value is never printed")
    }

    private func assertProblem(_ response: HTTPTestConnection.Response, status: Int, code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(response.status, status, response.text, file: file, line: line)
        XCTAssertEqual(response.header("content-type"), "application/problem+json", file: file, line: line)
        let body = try response.json()
        XCTAssertEqual(body["code"] as? String, code, file: file, line: line)
        XCTAssertEqual(body["status"] as? Int, status, file: file, line: line)
        XCTAssertEqual(body["type"] as? String, "/problems/\(code)", file: file, line: line)
        XCTAssertNotNil(body["title"] as? String, file: file, line: line)
        XCTAssertEqual(body["detail"] as? String, body["message"] as? String, file: file, line: line)
        XCTAssertEqual(body["request_id"] as? String, response.header("x-request-id"), file: file, line: line)
    }
}
