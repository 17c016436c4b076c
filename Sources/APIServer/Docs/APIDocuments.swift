import Foundation

/// The contract the server serves about itself: `openapi.yaml` at `/openapi.yaml` and the reference
/// page generated from it (`docs/api.html`, by scripts/build-api-docs.py) at `/docs`. Both are
/// opened and hashed at start-up and read from disk as they are served (`ServedDocument`); a server
/// without them would not describe itself, so a missing file stops it.
struct APIDocuments: Sendable {
    let specification: ServedDocument
    let reference: ServedDocument
    /// False when the page records the SHA-256 of another spec: it was not regenerated after a change.
    let referenceMatchesSpecification: Bool

    /// The page allows its own inline style and nothing else: no script, no request elsewhere.
    static let referencePolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

    static func load(specificationPath: String, referencePath: String) throws -> APIDocuments {
        let specification = try open(specificationPath, variable: "OPENAPI_PATH", contentType: "application/yaml")
        let reference = try open(referencePath, variable: "API_DOCS_PATH", contentType: "text/html; charset=utf-8",
                                 extraHeaders: [("Content-Security-Policy", referencePolicy)])
        // The etag is the spec's SHA-256 in hex between `"sha256-` and the closing quote.
        let digest = specification.etag.dropFirst("\"sha256-".count).dropLast()
        let head = (try? reference.prefix(512)) ?? []
        return APIDocuments(specification: specification, reference: reference,
                            referenceMatchesSpecification: recordedDigest(in: head) == String(digest))
    }

    /// The digest the generator writes near the top of the page: `from openapi.yaml sha256:<hex>`.
    static func recordedDigest(in page: some Collection<UInt8>) -> String? {
        let head = Array(page.prefix(512))
        let marker = Array("openapi.yaml sha256:".utf8)
        guard head.count >= marker.count,
              let start = (0...(head.count - marker.count)).first(where: { head[$0..<($0 + marker.count)].elementsEqual(marker) })
        else { return nil }
        let digest = head[(start + marker.count)...].prefix { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
        return digest.count == 64 ? String(decoding: digest, as: UTF8.self) : nil
    }

    private static func open(_ path: String, variable: String, contentType: String,
                             extraHeaders: [(String, String)] = []) throws -> ServedDocument {
        do {
            return try ServedDocument(path: path, contentType: contentType, extraHeaders: extraHeaders)
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
