import Foundation
import XCTest

/// Every price names where a reader can check it: a public page, never a file of this
/// repository or of the notes it was written from.
final class PricingSourceTests: XCTestCase {
    private func sources(in value: Any, path: String = "") -> [(path: String, text: String)] {
        if let object = value as? [String: Any] {
            return object.sorted { $0.key < $1.key }.flatMap { key, member -> [(path: String, text: String)] in
                if key == "source", let text = member as? String { return [(path + ".source", text)] }
                return sources(in: member, path: path + "." + key)
            }
        }
        if let array = value as? [Any] {
            return array.enumerated().flatMap { sources(in: $1, path: "\(path)[\($0)]") }
        }
        return []
    }

    func testEverySourceNamesAPublicPageAndNoInternalFile() throws {
        let document = try JSONSerialization.jsonObject(with: try TestCatalog.data())
        let found = sources(in: document)
        XCTAssertGreaterThan(found.count, 40, "the shipped catalog has a source on every model")
        let internalNames = found.filter { entry in ["providers.md", "../shared", "DESIGN.md", "§"].contains { entry.text.contains($0) } }
        XCTAssertEqual(internalNames.map(\.path), [], "sources must name public pages, not internal files: \(internalNames.map(\.text))")
        // Every paid model names the page its numbers can be checked on (the local provider is free and calls no one).
        let models = try XCTUnwrap((document as? [String: Any])?["models"] as? [[String: Any]])
        let withoutPage = models.filter { ($0["provider"] as? String) != "local" && !(($0["source"] as? String) ?? "").contains("https://") }
        XCTAssertEqual(withoutPage.map { "\($0["provider"] ?? "") \($0["model"] ?? "")" }, [])
        XCTAssertGreaterThan(models.count, 20)
    }

    /// What a user reads points only inside the repository or to public pages.
    func testUserFacingDocumentsDoNotPointOutsideTheRepository() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
        var files = ["README.md", "openapi.yaml", ".env.example", "pricing/README.md"].map { root.appendingPathComponent($0) }
        let docs = root.appendingPathComponent("docs")
        files += try FileManager.default.contentsOfDirectory(at: docs, includingPropertiesForKeys: nil)
        XCTAssertGreaterThan(files.count, 5)
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            // `../shared`, or any absolute path to a folder named shared (the design notes live in one).
            let outside = text.contains("../shared") || text.range(of: #"/shared\b"#, options: .regularExpression) != nil
            XCTAssertFalse(outside, "\(file.lastPathComponent) points outside the repository")
        }
    }
}
