import Foundation

/// The contract the server serves about itself: `openapi.yaml` at `/openapi.yaml` and the reference
/// page generated from it (`docs/api.html`, by scripts/build-api-docs.py) at `/docs`. Both are read
/// once at start-up; a server without them would not describe itself, so a missing file stops it.
struct APIDocuments: Sendable {
    let specification: ServedDocument
    let reference: ServedDocument
    /// False when the page records the SHA-256 of another spec: it was not regenerated after a change.
    let referenceMatchesSpecification: Bool

    /// The page allows its own inline style and nothing else: no script, no request elsewhere.
    static let referencePolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

    static func load(specificationPath: String, referencePath: String) throws -> APIDocuments {
        let specificationBytes = try read(specificationPath, variable: "OPENAPI_PATH")
        let referenceBytes = try read(referencePath, variable: "API_DOCS_PATH")
        let specification = try ServedDocument(bytes: specificationBytes, contentType: "application/yaml")
        let reference = try ServedDocument(bytes: referenceBytes, contentType: "text/html; charset=utf-8",
                                           extraHeaders: [("Content-Security-Policy", referencePolicy)])
        // The etag is the spec's SHA-256 in hex between `"sha256-` and the closing quote.
        let digest = specification.etag.dropFirst("\"sha256-".count).dropLast()
        return APIDocuments(specification: specification, reference: reference,
                            referenceMatchesSpecification: recordedDigest(in: referenceBytes) == String(digest))
    }

    /// The digest the generator writes near the top of the page: `from openapi.yaml sha256:<hex>`.
    static func recordedDigest(in page: Data) -> String? {
        let head = String(decoding: page.prefix(512), as: UTF8.self)
        guard let marker = head.range(of: "openapi.yaml sha256:") else { return nil }
        let digest = head[marker.upperBound...].prefix { $0.isHexDigit }
        return digest.count == 64 ? String(digest) : nil
    }

    private static func read(_ path: String, variable: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw APIDocumentsError(variable: variable, path: path,
                                    workingDirectory: FileManager.default.currentDirectoryPath)
        }
    }
}

struct APIDocumentsError: Error, CustomStringConvertible {
    let variable: String
    let path: String
    let workingDirectory: String

    var description: String {
        "\(variable): cannot read \"\(path)\" (relative paths start at \(workingDirectory)); the server serves its contract "
            + "and refuses to start without it. Set \(variable) or run from the repository root."
    }
}
