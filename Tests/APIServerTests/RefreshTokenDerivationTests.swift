@testable import APIServer
import Crypto
import XCTest

/// Children are computed, not random (only hashes are stored), so their derivation must be
/// repeatable for the server and unguessable for anyone without its secret.
final class RefreshTokenDerivationTests: XCTestCase {
    func testAChildIsRepeatableAndDependsOnParentSerialAndSecret() throws {
        let tokens = RandomRefreshTokens(secret: SecretBytes(utf8: "server-secret-0123456789abcdefghijkl"))
        let parent = try tokens.newToken()
        let child = try tokens.child(of: parent, serial: 41)
        XCTAssertEqual(try tokens.child(of: parent, serial: 41), child)
        XCTAssertEqual(child.count, 43, "32 bytes, base64url without padding, like a first token")
        XCTAssertEqual(parent.count, 43)
        XCTAssertNotEqual(try tokens.child(of: parent, serial: 42), child)
        XCTAssertNotEqual(try tokens.child(of: try tokens.newToken(), serial: 41), child)
        // The serial ends at the first colon, so no other (serial, parent) pair gives the same HMAC input.
        XCTAssertNotEqual(try tokens.child(of: "1:" + parent, serial: 4), try tokens.child(of: parent, serial: 41))
        let otherServer = RandomRefreshTokens(secret: SecretBytes(utf8: "another-secret-0123456789abcdefghijk"))
        XCTAssertNotEqual(try otherServer.child(of: parent, serial: 41), child)
        XCTAssertEqual(tokens.hash(child).count, 64)
        XCTAssertNotEqual(tokens.hash(child), tokens.hash(parent))
    }
}
