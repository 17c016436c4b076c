@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// Every operation in the route table, every input it documents (body members, recursively;
/// query and path parameters), every hostile value: the answer is a 4xx problem, or a documented
/// 2xx where the schema admits the value, never a 5xx or a dropped connection, and the server
/// answers `/healthz` afterwards. Generated from `makeRoutes` and `openapi.yaml`, so a new
/// operation is swept without anyone adding it here; a route the spec lacks fails the test.
final class HostileInputSweepTests: XCTestCase {
    private struct Target {
        let route: Route
        let operation: [String: Any]
        let pathParameters: [[String: Any]]
        let queryParameters: [[String: Any]]
        let bodySchema: [String: Any]?
        let bodyFields: [[String]]
    }

    private var server: TestServer!
    private var document: OpenAPIDocument!
    private var check: SchemaCheck!
    private var token = ""
    private var logoutToken = ""
    private var refreshToken = ""
    private var projectID = ""
    private var apiKeyID = ""
    private var assetID = ""
    private var requestNumber = 0
    private var failures: [String] = []

    override func setUpWithError() throws {
        document = try OpenAPIDocument.load()
        check = SchemaCheck(document: document)
        // Each request comes from its own address (through the trusted proxy header), so the
        // sign-up and token rate limits do not turn the sweep into a test of the rate limiter.
        server = try TestServer(environment: ["TRUSTED_PROXY_HEADER": "X-Forwarded-For", "TRUSTED_PROXY_CIDRS": "127.0.0.1/32"])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        let session = try server.signUp("sweep@example.com")
        token = session.accessToken
        refreshToken = session.refreshToken
        // Another user, for the one operation that ends sessions: a password the sweep sets on the
        // main user (a hostile value can be a valid password) ends that user's other sessions.
        logoutToken = try server.signUp("sweep-logout@example.com").accessToken
        projectID = try XCTUnwrap(try server.createProject(["name": "Sweep", "budget_limit": "10"], token: token)["id"] as? String)
        let key = try server.post("/v1/api-keys", ["provider": "openai", "label": "sweep", "key": "sk-proj-" + ApiKeyTests.hex(48)], token: token)
        XCTAssertEqual(key.status, 201, key.text)
        apiKeyID = try XCTUnwrap(try key.json()["id"] as? String)
        // A real asset, so the operations on one reach their bodies' rules instead of a 404: a
        // member the server accepts as null must be one its schema lets be null.
        assetID = try XCTUnwrap(try server.uploadAsset(MediaSamples.png(width: 4, height: 4), type: "image/png",
                                                       project: projectID, token: token)["id"] as? String)
    }

    override func tearDown() {
        server?.stop()
    }

    func testEveryOperationAnswersHostileInputWithAProblemAndTheServerLives() throws {
        let routes = makeRoutes(server.environment)
        XCTAssertFalse(routes.isEmpty)
        var targets: [Target] = []
        for route in routes {
            guard let operation = document.operation(method: route.method, path: route.template) else {
                XCTFail("\(route.method) \(route.template) (\(route.operationId)) is in the route table but not in openapi.yaml")
                continue
            }
            targets.append(target(route, operation))
        }
        // Changing the password and ending sessions last, so no other operation runs with a revoked
        // session, and deleting the account after everything else.
        let last = ["updateUser": 1, "logOut": 2, "deleteUser": 3]
        targets.sort { last[$0.route.operationId, default: 0] < last[$1.route.operationId, default: 0] }
        var covered: Set<String> = []
        let started = Date()
        for target in targets {
            if try sweep(target) > 0 { covered.insert(target.route.operationId) }
        }
        let missed = Set(routes.map(\.operationId)).subtracting(covered)
        XCTAssertEqual(missed, [], "operations the sweep sent nothing to")
        XCTAssertEqual(failures, [], "\(failures.count) answers broke the rules:\n" + failures.prefix(40).joined(separator: "\n"))
        XCTAssertGreaterThan(requestNumber, routes.count * HostileValue.all.count, "every operation got every hostile value at least once")
        let health = try server.connect().request("GET", "/healthz")
        XCTAssertEqual(health.status, 200, "the server must be alive after the sweep")
        // Reported, not asserted: a shared machine's load decides this figure, not the server.
        print("hostile-input sweep: \(requestNumber) requests to \(routes.count) operations in \(Int(Date().timeIntervalSince(started))) s")
    }

    // MARK: - What to send

    private func target(_ route: Route, _ operation: [String: Any]) -> Target {
        let pathItem = document.paths[route.template] ?? [:]
        let parameters = ((pathItem["parameters"] as? [Any] ?? []) + (operation["parameters"] as? [Any] ?? [])).compactMap { document.resolve($0) }
        let bodySchema = document.resolve(
            ((document.resolve(operation["requestBody"])?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"])
        return Target(route: route, operation: operation,
                      pathParameters: parameters.filter { $0["in"] as? String == "path" },
                      queryParameters: parameters.filter { $0["in"] as? String == "query" },
                      bodySchema: bodySchema, bodyFields: bodySchema.map { fields(of: $0, prefix: []) } ?? [])
    }

    /// Every member path of a body schema, nested objects included (`parameters.size`).
    private func fields(of schemaValue: Any?, prefix: [String], depth: Int = 0) -> [[String]] {
        guard depth < 6, let schema = document.resolve(schemaValue) else { return [] }
        var result: [[String]] = []
        for choice in (schema["oneOf"] as? [Any] ?? []) + (schema["anyOf"] as? [Any] ?? []) + (schema["allOf"] as? [Any] ?? []) {
            result += fields(of: choice, prefix: prefix, depth: depth + 1)
        }
        for (name, property) in (schema["properties"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = prefix + [name]
            result.append(path)
            result += fields(of: property, prefix: path, depth: depth + 1)
        }
        var seen: Set<[String]> = []
        return result.filter { seen.insert($0).inserted }
    }

    /// A body the operation accepts, so that a hostile member is judged on its own: the
    /// required members, with values that make sense for this server's state.
    private func baseline(_ target: Target) -> [String: Any] {
        var body: [String: Any] = [:]
        guard let schema = target.bodySchema else { return body }
        let alternatives = (schema["oneOf"] as? [Any])?.compactMap { document.resolve($0) } ?? [schema]
        let chosen = alternatives.first { alternative in
            (alternative["required"] as? [String] ?? []).contains(target.route.operationId == "issueToken" ? "password" : "")
        } ?? alternatives.first ?? schema
        for name in chosen["required"] as? [String] ?? [] {
            body[name] = sample(name, (chosen["properties"] as? [String: Any])?[name])
        }
        return body
    }

    private func sample(_ name: String, _ schemaValue: Any?) -> Any {
        switch name {
        case "email": return "sweep+\(UUID().uuidString.prefix(8).lowercased())@example.com"
        case "password": return "correct horse battery"
        case "project_id": return projectID
        case "prompt": return "a kite over the sea"
        case "type": return "text"
        case "name": return "Swept"
        case "provider": return "openai"
        case "key": return "sk-proj-" + ApiKeyTests.hex(48)
        case "refresh_token": return refreshToken
        default: break
        }
        let schema = document.resolve(schemaValue) ?? [:]
        if let options = schema["enum"] as? [Any], let first = options.first { return first }
        switch schema["type"] as? String {
        case "integer": return (schema["minimum"] as? Int) ?? 1
        case "boolean": return true
        case "object": return [String: Any]()
        default: return "x"
        }
    }

    /// The baseline once per value of each required enum member (a quote's `type`, a key's
    /// `provider`), so each hostile member meets every code path those values choose: a size is
    /// only multiplied out for images.
    private func variants(of base: [String: Any], _ target: Target) -> [[String: Any]] {
        guard let schema = target.bodySchema else { return [base] }
        let properties = schema["properties"] as? [String: Any] ?? [:]
        var result = [base]
        for name in (schema["required"] as? [String] ?? []).sorted() {
            guard let options = (document.resolve(properties[name])?["enum"] as? [Any])?.compactMap({ $0 as? String }), options.count > 1 else { continue }
            result = result.flatMap { body in options.map { option in body.merging([name: option]) { $1 } } }
        }
        return result
    }

    private func variantLabel(_ base: [String: Any], _ target: Target) -> String {
        let properties = target.bodySchema?["properties"] as? [String: Any] ?? [:]
        return base.keys.sorted().filter { document.resolve(properties[$0])?["enum"] != nil }.map { "\($0)=\(base[$0] ?? "")" }.joined(separator: ", ")
    }

    /// A path parameter that names something this user has, so the answer is judged on the other inputs.
    private func pathValue(_ name: String, _ target: Target) -> String {
        let template = target.route.template
        if template.hasPrefix("/v1/api-keys") { return apiKeyID }
        if template.hasPrefix("/v1/assets") { return assetID }
        if template.hasPrefix("/v1/provider-configs") { return "openai" }
        return projectID
    }

    private func baselineQuery(_ target: Target) -> [String: String] {
        var query: [String: String] = [:]
        for parameter in target.queryParameters where parameter["required"] as? Bool == true {
            guard let name = parameter["name"] as? String else { continue }
            let schema = document.resolve(parameter["schema"]) ?? [:]
            query[name] = ((schema["enum"] as? [Any])?.first).map { "\($0)" } ?? "1"
        }
        return query
    }

    // MARK: - Sending and judging

    /// Sends every hostile value to every input of one operation; returns how many requests it sent.
    private func sweep(_ target: Target) throws -> Int {
        var sent = 0
        let route = target.route
        let hasBody = target.bodySchema != nil
        let baseQuery = baselineQuery(target)
        func path(with overrides: [String: String] = [:]) -> String {
            var path = route.template
            for parameter in target.pathParameters {
                guard let name = parameter["name"] as? String else { continue }
                path = path.replacingOccurrences(of: "{\(name)}", with: overrides[name] ?? pathValue(name, target))
            }
            return path
        }
        func queryString(_ query: [String: String]) -> String {
            query.isEmpty ? "" : "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        }
        let baseBody = hasBody ? try JSONSerialization.data(withJSONObject: baseline(target), options: [.sortedKeys]) : nil

        for value in HostileValue.all {
            for base in variants(of: baseline(target), target) {
                let variant = base.isEmpty ? "" : " (with " + variantLabel(base, target) + ")"
                for field in target.bodyFields {
                    let body = try hostileBody(base, at: field, value: value)
                    let admitted = value.meaning.map { meaning in
                        check.admits(replacing(field, in: base, with: meaning), target.bodySchema)
                    } ?? false
                    judge(target, "body \(field.joined(separator: "."))\(variant) = \(value.name)",
                          send(route.method, path() + queryString(baseQuery), body: body, target: target), admitted: admitted)
                    sent += 1
                }
            }
            for parameter in target.queryParameters {
                guard let name = parameter["name"] as? String else { continue }
                var query = baseQuery
                query[name] = value.urlText
                judge(target, "query \(name) = \(value.name)", send(route.method, path() + queryString(query), body: baseBody, target: target),
                      admitted: check.admits(parameterText: value.urlMeaning, parameter["schema"]))
                sent += 1
            }
            for parameter in target.pathParameters {
                guard let name = parameter["name"] as? String else { continue }
                // An empty segment is a different path (no route or another one), so it must be refused too.
                judge(target, "path \(name) = \(value.name)",
                      send(route.method, path(with: [name: value.urlText]) + queryString(baseQuery), body: baseBody, target: target),
                      admitted: !value.urlText.isEmpty && check.admits(parameterText: value.urlMeaning, parameter["schema"]))
                sent += 1
            }
            if target.bodyFields.isEmpty, target.queryParameters.isEmpty, target.pathParameters.isEmpty {
                // Nothing documented to attack: an undocumented query parameter must not matter.
                judge(target, "undocumented query parameter = \(value.name)",
                      send(route.method, path() + "?sweep=" + value.urlText, body: baseBody, target: target), admitted: true)
                sent += 1
            }
        }
        return sent
    }

    private enum Outcome {
        case response(HTTPTestConnection.Response)
        case dropped(String)
    }

    private func send(_ method: String, _ path: String, body: Data?, target: Target) -> Outcome {
        requestNumber += 1
        var headers = ["X-Forwarded-For": "10.\(requestNumber / 65536 % 256).\(requestNumber / 256 % 256).\(requestNumber % 256)"]
        // Sent to public operations too, where it is ignored; the protected ones then judge the value, not the caller.
        headers["Authorization"] = "Bearer " + (target.route.operationId == "logOut" ? logoutToken : token)
        if body != nil { headers["Content-Type"] = "application/json" }
        do {
            if Self.streams(target.operation) {
                // An event stream stays open: read its head (and a refusal's body), never to the end.
                let stream = try SSEClient(port: server.port, path: path, headers: headers)
                let text = stream.status == 200 ? "" : stream.readWholeBody()
                return .response(HTTPTestConnection.Response(status: stream.status, headers: stream.headers, body: Data(text.utf8)))
            }
            return .response(try server.connect().request(method, path, headers: headers, body: body))
        } catch {
            return .dropped("\(error)")
        }
    }

    /// Whether the operation answers 200 with `text/event-stream` only (an operation that may also
    /// answer JSON, such as chat completions, ends its stream and is read whole).
    private static func streams(_ operation: [String: Any]) -> Bool {
        let ok = (operation["responses"] as? [String: Any])?["200"] as? [String: Any]
        let content = ok?["content"] as? [String: Any]
        return content?["text/event-stream"] != nil && content?["application/json"] == nil
    }

    /// Whether the operation documents this status in OpenAI's error envelope (`ChatError`).
    private static func usesOpenAIEnvelope(_ operation: [String: Any], _ status: Int) -> Bool {
        let responses = operation["responses"] as? [String: Any]
        // A status without its own entry is the `default` answer's (the chat surface's 413, for one).
        let response = (responses?[String(status)] ?? responses?["default"]) as? [String: Any]
        let json = (response?["content"] as? [String: Any])?["application/json"] as? [String: Any]
        return ((json?["schema"] as? [String: Any])?["$ref"] as? String) == "#/components/schemas/ChatError"
    }

    private func judge(_ target: Target, _ what: String, _ outcome: Outcome, admitted: Bool) {
        let label = "\(target.route.method) \(target.route.template) \(what)"
        switch outcome {
        case .dropped(let error):
            failures.append("\(label): connection dropped (\(error))")
        case .response(let response):
            let documented = (target.operation["responses"] as? [String: Any] ?? [:]).keys.contains(String(response.status))
            switch response.status {
            case 200..<300 where admitted && documented:
                break
            case 200..<300:
                failures.append("\(label): \(response.status) " + (admitted ? "is not documented" : "for a value the schema refuses"))
            case let status where (status == 414 || status == 431) && what.hasSuffix("100 kB string") && !what.hasPrefix("body"):
                // A request line or header block over HTTP_MAX_HEADER_BYTES: libmicrohttpd refuses it
                // before the application sees it, with its own body (documented in openapi.yaml's info).
                break
            case 400..<500 where Self.usesOpenAIEnvelope(target.operation, response.status):
                let code = ((try? response.json())?["error"] as? [String: Any])?["code"] as? String
                if response.header("content-type") != "application/json" || code == nil {
                    failures.append("\(label): \(response.status) without OpenAI's error envelope")
                }
            case 400..<500:
                if response.header("content-type") != "application/problem+json" {
                    failures.append("\(label): \(response.status) without application/problem+json")
                }
            default:
                failures.append("\(label): \(response.status) \(response.text.prefix(200))")
            }
        }
    }

    // MARK: - Building bodies

    private static let placeholder = "__sweep_hostile_value__"

    /// The baseline with the member at `field` replaced by the hostile value's raw JSON text
    /// (which JSONSerialization could not write: NaN, 1e309, invalid UTF-8, 100 levels of nesting).
    private func hostileBody(_ base: [String: Any], at field: [String], value: HostileValue) throws -> Data {
        let body = setting(field, in: base, to: Self.placeholder)
        let text = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let marker = Data("\"\(Self.placeholder)\"".utf8)
        guard let range = text.range(of: marker) else { throw TestSupportError("placeholder not found in \(String(decoding: text, as: UTF8.self))") }
        var result = text
        result.replaceSubrange(range, with: value.json)
        return result
    }

    private func setting(_ field: [String], in object: [String: Any], to value: Any) -> [String: Any] {
        guard let first = field.first else { return object }
        var copy = object
        copy[first] = field.count == 1 ? value : setting(Array(field.dropFirst()), in: object[first] as? [String: Any] ?? [:], to: value)
        return copy
    }

    private func replacing(_ field: [String], in object: [String: Any], with value: SweepValue) -> SweepValue {
        var members: [String: SweepValue] = [:]
        for (key, member) in object { members[key] = Self.sweepValue(member) }
        guard let first = field.first else { return .object(members) }
        members[first] = field.count == 1 ? value : replacing(Array(field.dropFirst()), in: object[first] as? [String: Any] ?? [:], with: value)
        return .object(members)
    }

    private static func sweepValue(_ value: Any) -> SweepValue {
        switch value {
        case let text as String: .string(text)
        case let flag as Bool: .bool(flag)
        case let number as Int: .number(Decimal(number), isInteger: true)
        case let object as [String: Any]: .object(object.mapValues(sweepValue))
        case let array as [Any]: .array(array.map(sweepValue))
        default: .null
        }
    }
}
