import Foundation

/// `openapi.yaml` as the test script converts it to JSON (`OPENAPI_JSON`, from
/// `scripts/openapi-json.py`). Tests that read the contract fail, never skip, when it is missing.
public struct OpenAPIDocument: @unchecked Sendable {
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// The whole document as `JSONSerialization` returns it.
    public let root: [String: Any]

    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> OpenAPIDocument {
        guard let path = environment["OPENAPI_JSON"], !path.isEmpty else {
            throw Missing(description: "OPENAPI_JSON is not set: run the suite with scripts/test.sh, which converts openapi.yaml")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Missing(description: "\(path) does not hold a JSON object")
        }
        return OpenAPIDocument(root: root)
    }

    public var paths: [String: [String: Any]] {
        (root["paths"] as? [String: Any])?.compactMapValues { $0 as? [String: Any] } ?? [:]
    }

    /// The operation object for `method` (upper case) and `path` as written in the spec.
    public func operation(method: String, path: String) -> [String: Any]? {
        paths[path]?[method.lowercased()] as? [String: Any]
    }

    /// Follows `$ref: '#/components/...'` until a non-reference object is reached.
    public func resolve(_ value: Any?) -> [String: Any]? {
        var current = value as? [String: Any]
        var hops = 0
        while let reference = current?["$ref"] as? String, hops < 32 {
            guard reference.hasPrefix("#/") else { return nil }
            var node: Any? = root
            for part in reference.dropFirst(2).split(separator: "/") {
                let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                node = (node as? [String: Any])?[key]
            }
            current = node as? [String: Any]
            hops += 1
        }
        return current
    }
}
