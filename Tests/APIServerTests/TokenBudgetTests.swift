@testable import APIServer
import Crypto
import Domain
import Foundation
import XCTest

/// The documented `user_metadata` limit is computed from the token's size limit, and a token for
/// the largest account the rules admit still signs, whatever the metadata is made of.
final class TokenBudgetTests: XCTestCase {
    /// The figure README.md and openapi.yaml state.
    static let documentedLimit = 5120

    func testTheComputedLimitIsTheDocumentedOne() throws {
        XCTAssertEqual(JWTAccessTokenIssuer.userMetadataBudget, Self.documentedLimit)
        let spec = try String(contentsOf: TestServer.repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        XCTAssertTrue(spec.contains("at most 5,120 bytes"), "openapi.yaml states the limit")
        let readme = try String(contentsOf: TestServer.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("5,120 bytes"), "README.md states the limit")
    }

    func testTheClaimsBudgetIsTheLongestPayloadThatSigns() throws {
        let signer = try JWTSigner(secret: SecretBytes(utf8: TestServer.jwtSecret))
        let fixed = try JWTClaims(additional: ["p": .string("")]).jsonString().utf8.count
        func claims(_ bytes: Int) -> JWTClaims { JWTClaims(additional: ["p": .string(String(repeating: "z", count: bytes - fixed))]) }
        XCTAssertEqual(try claims(JWTSigner.maximumClaimsBytes).jsonString().utf8.count, JWTSigner.maximumClaimsBytes)
        XCTAssertNoThrow(try signer.sign(claims(JWTSigner.maximumClaimsBytes)))
        XCTAssertThrowsError(try signer.sign(claims(JWTSigner.maximumClaimsBytes + 1)))
    }

    /// Metadata of exactly the limit, of each kind of content whose JSON spelling could differ
    /// between the Domain's measure and the token's writer, for the widest account.
    func testTheWidestAccountWithMetadataAtTheLimitSigns() throws {
        let signer = try JWTSigner(secret: SecretBytes(utf8: TestServer.jwtSecret))
        let issuer = JWTAccessTokenIssuer(signer: signer, issuer: String(repeating: "i", count: JWTAccessTokenIssuer.maximumIssuerBytes),
                                          lifetime: 86_400)
        let limit = JWTAccessTokenIssuer.userMetadataBudget
        let fillers: [(String, WireJSON)] = [
            ("ascii", .string("x")), ("controls", .string("\u{1}\u{8}\u{c}\n\"\\/")), ("unicode", .string("é漢😀\u{2028}")),
            ("integers", .number(String(AuthRules.maximumMetadataInteger))), ("negative", .number(String(-AuthRules.maximumMetadataInteger))),
            ("doubles", .number("\(0.1)")), ("tiny", .number("\(Double.leastNonzeroMagnitude)")), ("huge", .number("\(1.7976931348623157e308)")),
        ]
        for (name, element) in fillers {
            var items: [WireJSON] = []
            while WireJSON.object(["m": .array(items + [element])]).serialized().count <= limit { items.append(element) }
            let metadata: WireJSONObject = ["m": .array(items)]
            let size = WireJSON.object(metadata).serialized().count
            XCTAssertLessThanOrEqual(size, limit, name)
            XCTAssertGreaterThan(size, limit - 64, "\(name) fills the budget")
            XCTAssertNoThrow(try AuthRules(maximumMetadataBytes: limit).checkMetadata(metadata), name)
            let user = AuthUser(id: UUID(), email: String(repeating: "e", count: AuthRules.maximumEmailLength - 12) + "@example.com",
                                role: "authenticated", audience: "authenticated", emailConfirmedAt: nil, lastSignInAt: nil,
                                appMetadata: ["provider": .string("email"), "providers": .array([.string("email")])],
                                userMetadata: metadata, createdAt: Date(), updatedAt: Date(), isAnonymous: false)
            XCTAssertNoThrow(try issuer.issue(user: user, sessionID: UUID(), issuedAt: Date(timeIntervalSince1970: 9_999_999_999)), name)
        }
    }
}

/// The metadata limit assumes the longest issuer the configuration accepts, written as is in JSON.
final class IssuerBoundTests: XCTestCase {
    private func load(issuer: String) -> Result<AppConfig, ConfigError> {
        AppConfig.load(from: ["DATABASE_URL": "postgresql://localhost/db", "APP_ENV": "development",
                              "JWT_SECRET": String(repeating: "s", count: 32), "APP_ENCRYPTION_SECRET": String(repeating: "e", count: 32),
                              "JWT_ISSUER": issuer])
    }

    func testTheIssuerIsBoundedAndNeedsNoEscaping() throws {
        let longest = "https://" + String(repeating: "a", count: JWTAccessTokenIssuer.maximumIssuerBytes - 8)
        XCTAssertEqual(try load(issuer: longest).get().jwtIssuer, longest)
        for refused in [longest + "a", "https://x\"y", "https://x\\y", "https://x\ny"] {
            guard case .failure(let error) = load(issuer: refused) else { return XCTFail("accepted \(refused.debugDescription)") }
            XCTAssertTrue(String(describing: error).contains("JWT_ISSUER"), "\(error)")
        }
    }
}
