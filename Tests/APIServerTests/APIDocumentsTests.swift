@testable import APIServer
import Crypto
import Foundation
import TestSupport
import XCTest

/// `GET /openapi.yaml` and `GET /docs`: the contract and its reference page, public, served as the
/// files in the repository are, with strong ETags and 304s. The page must name every operation of
/// the route table, so a route added without regenerating docs/api.html fails here.
final class APIDocumentsTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(migrate: false)
    }

    override func tearDown() {
        server?.stop()
    }

    private static func file(_ path: String) throws -> Data {
        try Data(contentsOf: TestServer.repositoryRoot.appendingPathComponent(path))
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static let regenerate = "docs/api.html is out of date: run `python3 scripts/build-api-docs.py` and commit docs/api.html"

    func testOpenAPIIsTheRepositoryFileWithAStrongETagAndIsPublic() throws {
        let spec = try Self.file("openapi.yaml")
        let response = try server.connect().request("GET", "/openapi.yaml")
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.header("content-type"), "application/yaml")
        XCTAssertEqual(response.body, spec, "the bytes of openapi.yaml, unchanged")
        XCTAssertEqual(response.header("etag"), "\"sha256-\(Self.hex(try SHA256.hash(spec)))\"")
        XCTAssertEqual(response.header("cache-control"), "public, max-age=300", "not the default no-store")
    }

    func testIfNoneMatchWithTheCurrentTagAnswers304WithoutABody() throws {
        let first = try server.connect().request("GET", "/openapi.yaml")
        let etag = try XCTUnwrap(first.header("etag"))
        let connection = try server.connect()
        for condition in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
            let response = try connection.request("GET", "/openapi.yaml", headers: ["If-None-Match": condition])
            XCTAssertEqual(response.status, 304, "If-None-Match: \(condition)")
            XCTAssertEqual(response.header("etag"), etag, "If-None-Match: \(condition)")
        }
        // The 304s carried no body: the next response on the same connection is read whole.
        let after = try connection.request("GET", "/healthz")
        XCTAssertEqual(after.status, 200, "framing intact after 304")
        for condition in ["\"sha256-0\"", "not a tag", "\"\(etag)"] {
            let response = try connection.request("GET", "/openapi.yaml", headers: ["If-None-Match": condition])
            XCTAssertEqual(response.status, 200, "If-None-Match: \(condition) matches nothing")
            XCTAssertEqual(response.body, first.body)
        }
    }

    func testDocsIsAStaticPageNamingEveryOperationOfTheRouteTable() throws {
        let page = try Self.file("docs/api.html")
        let response = try server.connect().request("GET", "/docs")
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.header("content-type"), "text/html; charset=utf-8")
        XCTAssertEqual(response.body, page)
        XCTAssertEqual(response.header("etag"), "\"sha256-\(Self.hex(try SHA256.hash(page)))\"")
        XCTAssertEqual(response.header("cache-control"), "public, max-age=300")
        XCTAssertEqual(response.header("content-security-policy"), APIDocuments.referencePolicy)
        let html = response.text
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("href=\"/openapi.yaml\""), "the page links to the contract")
        XCTAssertFalse(html.lowercased().contains("<script"), "no JavaScript")
        let routes = makeRoutes(server.environment)
        XCTAssertGreaterThanOrEqual(routes.count, 30)
        let missing = routes.map(\.operationId).filter { !html.contains("id=\"\($0)\"") }
        XCTAssertEqual(missing, [], Self.regenerate)
        let etag = try XCTUnwrap(response.header("etag"))
        XCTAssertEqual(try server.connect().request("GET", "/docs", headers: ["If-None-Match": etag]).status, 304)
    }

    func testDocsWasGeneratedFromTheCurrentOpenAPIFile() throws {
        let spec = try Self.file("openapi.yaml")
        XCTAssertEqual(APIDocuments.recordedDigest(in: try Self.file("docs/api.html")), Self.hex(try SHA256.hash(spec)), Self.regenerate)
        XCTAssertTrue(server.environment.documents.referenceMatchesSpecification, Self.regenerate)
    }

    func testAStalePageIsDetected() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let spec = folder.appendingPathComponent("openapi.yaml")
        let page = folder.appendingPathComponent("api.html")
        try Data("openapi: 3.1.0\n".utf8).write(to: spec)
        let digest = Self.hex(try SHA256.hash(Data("openapi: 3.1.0\n".utf8)))
        try Data("<!DOCTYPE html>\n<!-- from openapi.yaml sha256:\(digest) -->\n".utf8).write(to: page)
        XCTAssertTrue(try APIDocuments.load(specificationPath: spec.path, referencePath: page.path).referenceMatchesSpecification)
        try Data("openapi: 3.1.1\n".utf8).write(to: spec)
        XCTAssertFalse(try APIDocuments.load(specificationPath: spec.path, referencePath: page.path).referenceMatchesSpecification)
    }

    /// The documents are read from their open files as they are sent, not held in memory: a file
    /// renamed over one after start (as a checkout writes) leaves the served bytes and tag as they
    /// were; one rewritten in place is served as it now is, under the tag of those bytes.
    /// A scratch folder holding an `openapi.yaml` of about 270 KB (several reads of 64 KiB).
    private static func documentFolder() throws -> (folder: URL, path: URL, original: Data) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("openapi.yaml")
        let original = Data(String(repeating: "openapi: 3.1.0 # the original\n", count: 9_000).utf8)
        try original.write(to: path)
        return (folder, path, original)
    }

    func testADocumentIsServedFromTheFileItOpenedAtStart() throws {
        let (folder, path, original) = try Self.documentFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let document = try ServedDocument(path: path.path, contentType: "application/yaml")
        func served() throws -> (etag: String?, body: Data) {
            let response = document.respond(HTTPRequest(method: "GET", path: "/openapi.yaml", query: [:], headers: [:], body: Data(), requestID: "test"))
            let blob = try XCTUnwrap(response.blob, "read from the file as it is sent")
            var body = Data()
            while Int64(body.count) < blob.length { body += try blob.read(Int64(body.count), 64 * 1024) }
            return (response.header("etag"), body)
        }
        XCTAssertEqual(try served().body, original)
        XCTAssertEqual(try served().etag, "\"sha256-\(Self.hex(try SHA256.hash(original)))\"")

        let replacement = folder.appendingPathComponent("new.yaml")
        try Data("openapi: 3.1.1 # renamed over it\n".utf8).write(to: replacement)
        XCTAssertEqual(rename(replacement.path, path.path), 0)
        XCTAssertEqual(try served().body, original, "the open file is the one hashed at start")
        XCTAssertEqual(try served().etag, "\"sha256-\(Self.hex(try SHA256.hash(original)))\"")

        let reopened = try ServedDocument(path: path.path, contentType: "application/yaml")
        let handle = try FileHandle(forWritingTo: path)
        let rewritten = Data("openapi: 3.1.2 # rewritten in place, longer than before\n".utf8)
        try handle.write(contentsOf: rewritten)
        try handle.close()
        let response = reopened.respond(HTTPRequest(method: "GET", path: "/openapi.yaml", query: [:], headers: [:], body: Data(), requestID: "test"))
        let blob = try XCTUnwrap(response.blob)
        XCTAssertEqual(try blob.read(0, 64 * 1024), rewritten)
        XCTAssertEqual(response.header("etag"), "\"sha256-\(Self.hex(try SHA256.hash(rewritten)))\"", "the tag names the bytes sent")
    }

    func testADocumentRewrittenWhileBeingSentEndsTheResponseInsteadOfSendingBytesItsTagDoesNotName() throws {
        let (folder, path, original) = try Self.documentFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let document = try ServedDocument(path: path.path, contentType: "application/yaml")
        let response = document.respond(HTTPRequest(method: "GET", path: "/openapi.yaml", query: [:], headers: [:], body: Data(), requestID: "test"))
        let blob = try XCTUnwrap(response.blob)
        XCTAssertEqual(try blob.read(0, 64 * 1024), original.prefix(64 * 1024), "the first chunk goes out before the rewrite")

        let handle = try FileHandle(forWritingTo: path)
        try handle.write(contentsOf: Data("openapi: 3.1.2 # rewritten in place while it was being sent\n".utf8))
        try handle.truncate(atOffset: 100_000)
        try handle.close()
        XCTAssertThrowsError(try blob.read(64 * 1024, 64 * 1024), "the rest would not be the bytes the tag names") { error in
            guard case ServedDocumentError.changedWhileSent = error else { return XCTFail("unexpected \(error)") }
        }
        let next = document.respond(HTTPRequest(method: "GET", path: "/openapi.yaml", query: [:], headers: [:], body: Data(), requestID: "test"))
        XCTAssertEqual(next.blob?.length, 100_000, "the next response is measured again")
        XCTAssertNotEqual(next.header("etag"), response.header("etag"))
    }

    func testHeadAnswersWithTheHeadersOnly() throws {
        let connection = try server.connect()
        for (path, file) in [("/openapi.yaml", "openapi.yaml"), ("/docs", "docs/api.html")] {
            let bytes = try Self.file(file)
            let head = try connection.request("HEAD", path)
            XCTAssertEqual(head.status, 200, path)
            XCTAssertEqual(head.header("content-length"), String(bytes.count), path)
            XCTAssertEqual(head.header("etag"), "\"sha256-\(Self.hex(try SHA256.hash(bytes)))\"", path)
            XCTAssertTrue(head.body.isEmpty, path)
        }
        XCTAssertEqual(try connection.request("GET", "/healthz").status, 200, "framing intact after HEAD")
    }

    func testAMissingContractStopsStartUpNamingTheVariable() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/openapi.yaml"
        XCTAssertThrowsError(try TestServer(environment: ["OPENAPI_PATH": missing], migrate: false)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("OPENAPI_PATH") && text.contains(missing), text)
        }
        XCTAssertThrowsError(try TestServer(environment: ["API_DOCS_PATH": missing], migrate: false)) { error in
            XCTAssertTrue(String(describing: error).contains("API_DOCS_PATH"), String(describing: error))
        }
    }
}
