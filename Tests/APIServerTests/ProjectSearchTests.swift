@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// `q` on GET /v1/projects ignores case in every script, not only ASCII (the test clusters, like
/// the run script's, use the C locale, where PostgreSQL's plain lower() folds only A–Z).
final class ProjectSearchTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server?.stop()
    }

    private func search(_ text: String, token: String) throws -> [String] {
        let query = try XCTUnwrap(text.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        return try server.listAll("q=\(query)&sort=name", token: token).compactMap { $0["name"] as? String }.sorted()
    }

    func testSearchFoldsNonASCIICaseBothWays() throws {
        let ada = try server.signUp("unicode-search@example.com")
        for name in ["Élan vital", "ÅSA archive", "Ελληνικά notes", "plain"] {
            try server.createProject(["name": name], token: ada.accessToken)
        }
        XCTAssertEqual(try search("élan", token: ada.accessToken), ["Élan vital"])
        XCTAssertEqual(try search("ÉLAN", token: ada.accessToken), ["Élan vital"])
        XCTAssertEqual(try search("åsa", token: ada.accessToken), ["ÅSA archive"])
        XCTAssertEqual(try search("Åsa", token: ada.accessToken), ["ÅSA archive"])
        XCTAssertEqual(try search("ελληνικά", token: ada.accessToken), ["Ελληνικά notes"])
        XCTAssertEqual(try search("a", token: ada.accessToken), ["plain", "Élan vital", "ÅSA archive"].sorted(), "ASCII still folds")
    }

    func testLowerCaseNamesAreFoundByUpperCaseQueries() throws {
        let ada = try server.signUp("unicode-search-2@example.com")
        try server.createProject(["name": "élan"], token: ada.accessToken)
        try server.createProject(["name": "åsa"], token: ada.accessToken)
        XCTAssertEqual(try search("ÉLAN", token: ada.accessToken), ["élan"])
        XCTAssertEqual(try search("ÅSA", token: ada.accessToken), ["åsa"])
        XCTAssertEqual(try search("ÅSA", token: try server.signUp("unicode-search-3@example.com").accessToken), [],
                       "another user's projects are not searched")
    }
}
