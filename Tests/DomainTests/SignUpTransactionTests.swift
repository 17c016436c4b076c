import Domain
import Foundation
import Synchronization
import XCTest

/// The Domain's side of the one-transaction sign-up: the access token is signed inside the store's
/// transaction (so its failure undoes the insert), and metadata is checked against what a token
/// can carry before anything reaches the store.
final class SignUpTransactionTests: XCTestCase {
    /// Commits a sign-up only when `finish` returns, as a database transaction would.
    private final class TransactionalStore: AuthStore, Sendable {
        struct Unused: Error {}
        let users = Mutex<[String: AuthUser]>([:])
        let createAccountCalls = Mutex(0)

        func createAccount(_ account: NewAccount, session: NewSession,
                           finish: (AuthUser, AuthSessionRecord) throws -> IssuedSession) throws -> IssuedSession {
            createAccountCalls.withLock { $0 += 1 }
            let user = AuthUser(id: account.id, email: account.email, role: "authenticated", audience: "authenticated",
                                emailConfirmedAt: account.now, lastSignInAt: account.now, appMetadata: [:],
                                userMetadata: account.userMetadata, createdAt: account.now, updatedAt: account.now, isAnonymous: false)
            let issued = try finish(user, AuthSessionRecord(id: session.id, userID: user.id, createdAt: account.now))
            users.withLock { $0[account.email] = user }
            return issued
        }

        func credentials(email: String) throws -> StoredCredentials? { throw Unused() }
        func user(id: UUID) throws -> AuthUser? { throw Unused() }
        func startSession(userID: UUID, session: NewSession, now: Date, rehashedPassword: String?,
                          finish: (AuthUser, AuthSessionRecord) throws -> IssuedSession) throws -> IssuedSession? { throw Unused() }
        func rotateRefreshToken(presentedHash: String, now: Date, reuseInterval: TimeInterval,
                                child: (Int64) throws -> RefreshTokenChild) throws -> RefreshOutcome { throw Unused() }
        func sessionState(id: UUID, userID: UUID) throws -> SessionState? { throw Unused() }
        func revokeSessions(userID: UUID, currentSession: UUID?, scope: LogoutScope) throws { throw Unused() }
        func updateUser(id: UUID, passwordHash: String?, userMetadata: WireJSONObject?, now: Date,
                        accept: (AuthUser) throws -> Void) throws -> AuthUser { throw Unused() }
        func deleteUser(id: UUID) throws -> Bool { throw Unused() }
    }

    private struct Issuer: AccessTokenIssuer {
        struct TooLarge: Error {}
        let lifetime: TimeInterval = 3600
        let maximumUserMetadataBytes: Int
        let fails: Bool
        func issue(user: AuthUser, sessionID: UUID, issuedAt: Date) throws -> String {
            if fails { throw TooLarge() }
            return "token-for-\(user.email)"
        }
    }

    private struct PlainHasher: PasswordHasher {
        func hash(_ password: String) throws -> String { "h:" + password }
        func verify(_ password: String, against hash: String) -> Bool { hash == "h:" + password }
        func needsRehash(_ hash: String) -> Bool { false }
    }

    private struct CountingTokens: RefreshTokenSource {
        func newToken() throws -> String { UUID().uuidString }
        func child(of parent: String, serial: Int64) throws -> String { "\(serial):\(parent)" }
        func hash(_ token: String) -> String { "#" + token }
    }

    private func service(_ store: TransactionalStore, budget: Int = 1024, signerFails: Bool = false) throws -> AuthService {
        try AuthService(store: store, hasher: PlainHasher(), tokens: Issuer(maximumUserMetadataBytes: budget, fails: signerFails),
                        refreshTokens: CountingTokens(), rules: AuthRules(maximumMetadataBytes: 16 * 1024))
    }

    func testTheTokenIsSignedInsideTheTransactionSoItsFailureCommitsNothing() throws {
        let store = TransactionalStore()
        XCTAssertThrowsError(try service(store, signerFails: true).signUp(email: "a@example.com", password: "long enough",
                                                                          metadata: nil, userAgent: nil)) {
            XCTAssertTrue($0 is Issuer.TooLarge, "\($0)")
        }
        XCTAssertEqual(store.createAccountCalls.withLock { $0 }, 1, "the failure happened after the insert")
        XCTAssertTrue(store.users.withLock { $0.isEmpty })
        let session = try service(store).signUp(email: "a@example.com", password: "long enough", metadata: nil, userAgent: nil)
        XCTAssertEqual(session.accessToken, "token-for-a@example.com")
        XCTAssertEqual(store.users.withLock { $0.count }, 1)
    }

    func testMetadataBeyondWhatTheIssuerCarriesIsRefusedBeforeTheStore() throws {
        let store = TransactionalStore()
        let service = try service(store, budget: 100)
        XCTAssertEqual(service.rules.maximumMetadataBytes, 100, "the issuer's budget lowers the rule")
        let big: WireJSONObject = ["pad": .string(String(repeating: "x", count: 100))]
        XCTAssertThrowsError(try service.signUp(email: "b@example.com", password: "long enough", metadata: big, userAgent: nil)) {
            XCTAssertEqual(($0 as? AuthError)?.status, 422)
        }
        XCTAssertEqual(store.createAccountCalls.withLock { $0 }, 0, "refused before anything is stored")
    }
}
