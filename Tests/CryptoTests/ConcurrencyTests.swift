import Crypto
import Dispatch
import Foundation
import Synchronization
import XCTest

/// The server calls this module from libmicrohttpd's thread pool. The shared pieces (fetched
/// OpenSSL algorithms, lazily built tables) must hold up when many threads start at once.
final class ConcurrencyTests: XCTestCase {
    func testParallelSealOpenAndVerify() throws {
        let ring = try Keyring(currentVersion: 1, keys: [1: .random()])
        let signer = try JWTSigner(secret: SecretBytes(utf8: String(repeating: "s", count: 32)))
        let now = Date(timeIntervalSince1970: 1_767_223_000)
        let token = try signer.sign(JWTClaims(subject: "u1", expiresAt: now.addingTimeInterval(60)))
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 64) { worker in
            do {
                for round in 0..<100 {
                    let secret = Array("secret \(worker) \(round)".utf8)
                    let ad = Array("row \(worker)".utf8)
                    let envelope = try ring.seal(secret, associatedData: ad)
                    guard try ring.open(envelope, associatedData: ad) == SecretBytes(copying: secret) else {
                        failures.record("round trip \(worker)/\(round)")
                        return
                    }
                    guard try signer.verify(token, now: now).claims.subject == "u1" else {
                        failures.record("verify \(worker)/\(round)")
                        return
                    }
                }
            } catch {
                failures.record("\(error)")
            }
        }
        XCTAssertEqual(failures.all, [])
    }
}

private final class Failures: Sendable {
    private let messages = Mutex<[String]>([])

    func record(_ message: String) {
        messages.withLock { $0.append(message) }
    }

    var all: [String] {
        messages.withLock { $0 }
    }
}
