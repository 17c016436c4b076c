@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// A path that is a resource of its own (`/v1/generations/batch`) is never also read as a
/// template it happens to fit (`/v1/generations/{id}`): its `Allow` lists only its own methods.
final class LiteralRouteTests: XCTestCase {
    func testALiteralPathAllowsOnlyItsOwnMethods() throws {
        let server = try TestServer()
        defer { server.stop() }
        let get = try server.connect().request("GET", "/v1/generations/batch")
        XCTAssertEqual(get.status, 405, get.text)
        let allowed = Set((get.header("allow") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        XCTAssertTrue(allowed.contains("POST"), "\(allowed)")
        XCTAssertFalse(allowed.contains("GET"), "\(allowed)")
        // The template still serves every other id.
        let other = try server.connect().request("GET", "/v1/generations/\(UUID().uuidString.lowercased())")
        XCTAssertEqual(other.status, 401, other.text)
    }
}
