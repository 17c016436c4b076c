@testable import APIServer
import Foundation
import XCTest

/// Holds the route table and `openapi.yaml` equal: same methods, paths and operationIds.
final class ContractTests: XCTestCase {
    private struct Operation: Hashable, CustomStringConvertible {
        let method: String
        let path: String
        let operationId: String
        var description: String { "\(method) \(path) (\(operationId))" }
    }

    func testRouteTableAndSpecDescribeTheSameOperations() throws {
        let server = try TestServer(migrate: false)
        defer { server.stop() }
        let routes = Set(makeRoutes(server.environment).map { Operation(method: $0.method, path: $0.template, operationId: $0.operationId) })
        let specText = try String(contentsOf: TestServer.repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let documented = try Self.operations(inSpec: specText)
        XCTAssertFalse(documented.isEmpty)
        XCTAssertEqual(routes.subtracting(documented).map(\.description).sorted(), [], "routes missing from openapi.yaml")
        XCTAssertEqual(documented.subtracting(routes).map(\.description).sorted(), [], "documented operations with no route")
        let ids = documented.map(\.operationId)
        XCTAssertEqual(ids.count, Set(ids).count, "operationIds are unique")
    }

    /// Reads `paths:` of our own spec: paths at two spaces, methods at four, `operationId:` at six.
    /// The spec file follows that layout (a YAML subset), which the openapi-spec-validator run in
    /// the test script checks as real YAML.
    private static func operations(inSpec text: String) throws -> Set<Operation> {
        let methods: Set = ["get", "put", "post", "delete", "patch", "head", "options"]
        var operations = Set<Operation>()
        var inPaths = false
        var path: String?
        var method: String?
        for line in text.components(separatedBy: "\n") {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line.hasPrefix("paths:")
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
                method = nil
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let word = line.trimmingCharacters(in: .whitespaces).dropLast()
                method = methods.contains(String(word)) ? word.uppercased() : nil
            } else if line.hasPrefix("      operationId:"), let path, let method {
                let id = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
                operations.insert(Operation(method: method, path: path, operationId: id))
            }
        }
        return operations
    }
}
