@testable import APIServer
import Crypto
import Foundation
import XCTest

/// The `events_url` token opens one generation's stream for one user until its expiry, and nothing else.
final class EventStreamTokenTests: XCTestCase {
    private let secret = SecretBytes(utf8: "server-secret-0123456789abcdefghijkl")
    private let generation = UUID()
    private let user = UUID()
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    func testATokenOpensItsGenerationForItsUserUntilItExpires() throws {
        let tokens = try EventStreamTokens(secret: secret)
        let token = try tokens.token(generation: generation, user: user, expires: now.addingTimeInterval(60))
        XCTAssertEqual(tokens.user(in: token, generation: generation, now: now), user)
        XCTAssertNil(tokens.user(in: token, generation: generation, now: now.addingTimeInterval(61)), "expired")
        XCTAssertNil(tokens.user(in: token, generation: UUID(), now: now), "another generation")
    }

    func testAnAlteredForeignOrMalformedTokenIsRefused() throws {
        let tokens = try EventStreamTokens(secret: secret)
        let token = try tokens.token(generation: generation, user: user, expires: now.addingTimeInterval(60))
        let parts = token.split(separator: ".").map(String.init)
        XCTAssertEqual(parts.count, 3)
        let otherUser = [UUID().uuidString.lowercased(), parts[1], parts[2]].joined(separator: ".")
        XCTAssertNil(tokens.user(in: otherUser, generation: generation, now: now), "the user is signed")
        let later = [parts[0], String(Int64(parts[1]).map { $0 + 3600 } ?? 0), parts[2]].joined(separator: ".")
        XCTAssertNil(tokens.user(in: later, generation: generation, now: now), "the expiry is signed")
        let otherServer = try EventStreamTokens(secret: SecretBytes(utf8: "another-secret-0123456789abcdefghijk"))
        XCTAssertNil(otherServer.user(in: token, generation: generation, now: now), "another deployment's key")
        for malformed in ["", "a.b.c", "\(user.uuidString).x.\(parts[2])", parts[0] + "." + parts[1], token + ".extra"] {
            XCTAssertNil(tokens.user(in: malformed, generation: generation, now: now), malformed)
        }
        XCTAssertFalse(token.contains("server-secret"), "the secret is not in the token")
    }
}
