@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// Holds the route table and `openapi.yaml` equal (same methods, paths and operationIds) and
/// checks that every operation documents its success and its problems. That the responses match
/// what is documented, status by status and body by schema, is checked on the real responses of
/// the whole suite by scripts/check-contract.py (see ContractRecorder).
final class ContractTests: XCTestCase {
    private struct Operation: Hashable, CustomStringConvertible {
        let method: String
        let path: String
        let operationId: String
        var description: String { "\(method) \(path) (\(operationId))" }
    }

    private static let methods = ["get", "put", "post", "delete", "patch", "head", "options"]

    func testRouteTableAndSpecDescribeTheSameOperations() throws {
        let server = try TestServer(migrate: false)
        defer { server.stop() }
        let routes = Set(makeRoutes(server.environment).map { Operation(method: $0.method, path: $0.template, operationId: $0.operationId) })
        let document = try OpenAPIDocument.load()
        let documented = Self.operations(in: document)
        XCTAssertFalse(documented.isEmpty)
        XCTAssertEqual(routes.subtracting(documented).map(\.description).sorted(), [], "routes missing from openapi.yaml")
        XCTAssertEqual(documented.subtracting(routes).map(\.description).sorted(), [], "documented operations with no route")
        let ids = documented.map(\.operationId)
        XCTAssertEqual(ids.count, Set(ids).count, "operationIds are unique")
    }

    /// Operations that take no input at all (no parameters, no body, no token), so no client
    /// error is possible: they document a 2xx and `default` only. The test below checks that they
    /// still take no input, so this list cannot hide an operation that gains some. The contract
    /// documents (`/openapi.yaml`, `/docs`) take an optional `If-None-Match` only, which cannot make
    /// a request wrong: a tag that matches nothing, well-formed or not, gets the document.
    private static let withoutClientErrors: Set = ["getHealth", "getReadiness", "getOpenAPI", "getDocs"]

    /// Every operation says what success looks like and how it fails: a 2xx, and at least one
    /// 4xx answered as `application/problem+json` with the Problem schema (or, on the
    /// OpenAI-compatible surface, as OpenAI's error envelope with the code in `error.code`).
    func testEveryOperationDocumentsASuccessAndAProblem() throws {
        let document = try OpenAPIDocument.load()
        let operations = Self.operations(in: document)
        XCTAssertGreaterThanOrEqual(operations.count, 15, "the spec was read")
        var missing: [String] = []
        for operation in operations.sorted(by: { $0.description < $1.description }) {
            let object = try XCTUnwrap(document.operation(method: operation.method, path: operation.path))
            let responses = try XCTUnwrap(object["responses"] as? [String: Any], "\(operation) has no responses")
            let statuses = responses.keys.compactMap(Int.init)
            if !statuses.contains(where: { (200..<300).contains($0) }) {
                missing.append("\(operation): no 2xx response")
            }
            let problems = statuses.filter { (400..<500).contains($0) }.filter { status in
                let response = document.resolve(responses[String(status)])
                let content = response?["content"] as? [String: Any]
                let schema = document.resolve((content?["application/problem+json"] as? [String: Any])?["schema"])
                // The OpenAI-compatible surface answers in OpenAI's envelope, whose `error` carries the code.
                let envelope = document.resolve((content?["application/json"] as? [String: Any])?["schema"])
                let envelopeError = document.resolve((envelope?["properties"] as? [String: Any])?["error"])
                return (schema?["required"] as? [String])?.contains("code") == true
                    || ((envelope?["required"] as? [String])?.contains("error") == true
                        && (envelopeError?["required"] as? [String])?.contains("code") == true)
            }
            if Self.withoutClientErrors.contains(operation.operationId) {
                let pathItem = document.paths[operation.path] ?? [:]
                let parameters = ((object["parameters"] as? [Any]) ?? []).compactMap { document.resolve($0) }
                let conditionalOnly = parameters.allSatisfy { $0["in"] as? String == "header" && $0["name"] as? String == "If-None-Match" }
                let input = ["requestBody", "security"].filter { object[$0] != nil } + (conditionalOnly ? [] : ["parameters"])
                    + (pathItem["parameters"] != nil ? ["path parameters"] : [])
                if !input.isEmpty { missing.append("\(operation): listed as taking no input, but has \(input)") }
            } else if problems.isEmpty {
                missing.append("\(operation): no 4xx answered as application/problem+json with the Problem schema (or ChatError)")
            }
        }
        XCTAssertEqual(missing, [])
    }

    private static func operations(in document: OpenAPIDocument) -> Set<Operation> {
        var operations = Set<Operation>()
        for (path, item) in document.paths {
            for method in methods {
                guard let operation = item[method] as? [String: Any] else { continue }
                operations.insert(Operation(method: method.uppercased(), path: path, operationId: operation["operationId"] as? String ?? ""))
            }
        }
        return operations
    }
}
