@testable import Crypto
import Domain
import Foundation
import XCTest

final class JWTTests: XCTestCase {
    /// The Supabase CLI's well-known local development secret; public, used here as test data only.
    static let secret = "super-secret-jwt-token-with-at-least-32-characters-long"
    let signer = try! JWTSigner(secret: SecretBytes(utf8: JWTTests.secret))
    let inWindow = Date(timeIntervalSince1970: 1_767_223_000)

    /// A correctly signed token for any header and payload text, to show that refusals come from
    /// the checks and not from a bad signature.
    func forge(header: String, payload: String, secret: String = JWTTests.secret) throws -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let mac = try HMACSHA256.mac(for: Array(input.utf8), key: Array(secret.utf8))
        return input + "." + Base64URL.encode(mac)
    }

    let goodHeader = #"{"alg":"HS256","typ":"JWT"}"#
    let goodPayload = #"{"sub":"u1","role":"authenticated","exp":1767225600}"#

    func assertRejected(_ token: String, _ expected: JWTError, now: Date? = nil,
                        options: JWTVerificationOptions = JWTVerificationOptions(),
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try signer.verify(token, now: now ?? inWindow, options: options), file: file, line: line) { error in
            XCTAssertEqual(error as? JWTError, expected, "threw \(error) for \(token)", file: file, line: line)
        }
    }

    // MARK: - Known answers

    /// RFC 7515 Appendix A.1: the HS256 example JWS, including its CRLF-laden header and payload.
    func testRFC7515AppendixA1() throws {
        let key = try XCTUnwrap(Base64URL.decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"))
        let signer = try JWTSigner(secret: SecretBytes(copying: key))
        let signingInput = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
            + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        XCTAssertEqual(try signer.signature(for: signingInput), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")

        let token = signingInput + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        let verified = try signer.verify(token, now: Date(timeIntervalSince1970: 1_300_819_000))
        XCTAssertEqual(verified.claims.issuer, "joe")
        XCTAssertEqual(verified.claims.expiresAt, Date(timeIntervalSince1970: 1_300_819_380))
        XCTAssertEqual(verified.claims.additional, ["http://example.com/is_root": .bool(true)])
        XCTAssertEqual(verified.payloadJSON, "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}")

        // The example expired in 2011; with the default 30 s leeway it stops verifying at exp + 30.
        XCTAssertNoThrow(try signer.verify(token, now: Date(timeIntervalSince1970: 1_300_819_409)))
        XCTAssertThrowsError(try signer.verify(token, now: Date(timeIntervalSince1970: 1_300_819_410)))
    }

    /// Hand-checked: made with Python's hmac/hashlib/base64 and json.dumps(sort_keys=True,
    /// separators=(",", ":"), ensure_ascii=False) from the claims GoTrue puts in an access token.
    static let goTrueToken = """
        eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhYWwiOiJhYWwxIiwiYW1yIjpbeyJtZXRob2QiOiJwYXNzd29yZCIsInRpbWVzdGFtcCI6MTc2NzIyMjAwMH1dLCJhcHBfbWV0YWRhdGEiOnsicHJvdmlkZXIiOiJlbWFpbCIsInByb3ZpZGVycyI6WyJlbWFpbCJdfSwiYXVkIjoiYXV0aGVudGljYXRlZCIsImVtYWlsIjoiYWRhQGV4YW1wbGUuY29tIiwiZXhwIjoxNzY3MjI1NjAwLCJpYXQiOjE3NjcyMjIwMDAsImlzX2Fub255bW91cyI6ZmFsc2UsImlzcyI6Imh0dHA6Ly8xMjcuMC4wLjE6ODA4MC9hdXRoL3YxIiwicGhvbmUiOiIiLCJyb2xlIjoiYXV0aGVudGljYXRlZCIsInNlc3Npb25faWQiOiI2ZjFjMmUwYS00YTU3LTRjNDMtOWEwZS0wZDJiMWY2ZjJmMTEiLCJzdWIiOiJkZWFkYmVlZi1kZWFkLWJlZWYtZGVhZC1iZWVmZGVhZGJlZWYiLCJ1c2VyX21ldGFkYXRhIjp7Im5hbWUiOiJBZGEgTG92ZWxhY2Ug4pyTIn19.3OTMz-bvkPc4iBfyOqU_tAW4bteQ85bCi4WNRfA9rq8
        """

    static let goTrueClaims = JWTClaims(
        issuer: "http://127.0.0.1:8080/auth/v1", subject: "deadbeef-dead-beef-dead-beefdeadbeef",
        audience: ["authenticated"], expiresAt: Date(timeIntervalSince1970: 1_767_225_600),
        issuedAt: Date(timeIntervalSince1970: 1_767_222_000), role: "authenticated", email: "ada@example.com",
        sessionID: "6f1c2e0a-4a57-4c43-9a0e-0d2b1f6f2f11", authenticatorAssuranceLevel: "aal1", isAnonymous: false,
        appMetadata: ["provider": .string("email"), "providers": .array([.string("email")])],
        userMetadata: ["name": .string("Ada Lovelace ✓")],
        additional: ["amr": .array([.object(["method": .string("password"), "timestamp": .number("1767222000")])]),
                     "phone": .string("")])

    func testGoTrueStyleTokenVerifiesToTypedClaims() throws {
        let verified = try signer.verify(Self.goTrueToken, now: inWindow, options: JWTVerificationOptions(audience: "authenticated"))
        XCTAssertEqual(verified.claims, Self.goTrueClaims)
        XCTAssertTrue(verified.payloadJSON.hasPrefix(#"{"aal":"aal1","amr":[{"method":"password""#))
        XCTAssertTrue(verified.payloadJSON.hasSuffix(#""user_metadata":{"name":"Ada Lovelace ✓"}}"#))
    }

    func testSigningReproducesTheHandCheckedToken() throws {
        XCTAssertEqual(try signer.sign(Self.goTrueClaims), Self.goTrueToken)
        let verified = try signer.verify(Self.goTrueToken, now: inWindow)
        XCTAssertEqual(try verified.claims.jsonString(), verified.payloadJSON)
    }

    func testAnonKeyStyleToken() throws {
        // Hand-checked as above; the shape of a Supabase anon key (no sub, ten-year exp).
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImFiY2RlZmdoaWprbG1ub3BxcnN0Iiwicm9sZSI6ImFub24iLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MjAxNTU3NjAwMH0.uH1VOJ68QNu8tLXqXP4E8vQm2HsJIZvaDRZHSBTOaSk"
        let claims = try signer.verify(token, now: inWindow).claims
        XCTAssertNil(claims.subject)
        XCTAssertEqual(claims.role, "anon")
        XCTAssertEqual(claims.issuer, "supabase")
        XCTAssertEqual(claims.additional, ["ref": .string("abcdefghijklmnopqrst")])
    }

    func testForeignTokenWithAudienceArrayKidAndSpacing() throws {
        // Hand-checked as above; header `{ "kid" : "k1", "typ":"jwt", "alg" : "HS256" }`.
        let token = "eyAia2lkIiA6ICJrMSIsICJ0eXAiOiJqd3QiLCAiYWxnIiA6ICJIUzI1NiIgfQ.eyJzdWIiOiJ1MSIsImF1ZCI6WyJodHRwczovL2FwaS5leGFtcGxlLmNvbSIsImF1dGhlbnRpY2F0ZWQiXSwiZXhwIjoxNzY3MjI1NjAwLjUsIm5iZiI6MTc2NzIyMjAwMCwic2NvcGUiOiJyZWFkIHdyaXRlIn0.14dlpUzqfCb0QYMzoEso5MKRqUIxghq2Xk6c32wb9fw"
        let claims = try signer.verify(token, now: inWindow, options: JWTVerificationOptions(audience: "authenticated")).claims
        XCTAssertEqual(claims.audience, ["https://api.example.com", "authenticated"])
        XCTAssertEqual(claims.expiresAt?.timeIntervalSince1970, 1_767_225_600.5)
        XCTAssertEqual(claims.notBefore, Date(timeIntervalSince1970: 1_767_222_000))
        XCTAssertEqual(claims.additional, ["scope": .string("read write")])
        assertRejected(token, .audienceMismatch, options: JWTVerificationOptions(audience: "authenticated2"))
        assertRejected(token, .notYetValid, now: Date(timeIntervalSince1970: 1_767_222_000 - 31))
        XCTAssertNoThrow(try signer.verify(token, now: Date(timeIntervalSince1970: 1_767_222_000 - 30)))
        XCTAssertNoThrow(try signer.verify(token, now: Date(timeIntervalSince1970: 1_767_225_600.5 + 29.9)))
        assertRejected(token, .expired, now: Date(timeIntervalSince1970: 1_767_225_600.5 + 30))
    }

    func testSignVerifyRoundTrip() throws {
        var claims = JWTClaims(subject: "u1", audience: ["a", "b"], expiresAt: inWindow.addingTimeInterval(3600),
                               notBefore: inWindow, role: "authenticated",
                               additional: ["sub": .string("ignored: the typed field wins"), "custom": .number("42")])
        let verified = try signer.verify(try signer.sign(claims), now: inWindow)
        claims.additional["sub"] = nil
        XCTAssertEqual(verified.claims, claims)
        XCTAssertTrue(verified.payloadJSON.contains(#""aud":["a","b"]"#))
    }

    // MARK: - Algorithm and header

    func testRejectsOtherAlgorithms() throws {
        let payload = Base64URL.encode(Array(goodPayload.utf8))
        // Unsigned "none" token as attackers send it: empty signature segment.
        assertRejected(Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + payload + ".", .unsupportedAlgorithm)
        for alg in ["none", "None", "NONE", "HS384", "HS512", "RS256", "ES256", "hs256", "HS256 ", " HS256", "HS2560", ""] {
            assertRejected(try forge(header: #"{"alg":"\#(alg)","typ":"JWT"}"#, payload: goodPayload), .unsupportedAlgorithm)
        }
        // Lookalikes: a fullwidth S, and a 6 followed by a combining accent.
        assertRejected(try forge(header: "{\"alg\":\"H\u{FF33}256\"}", payload: goodPayload), .unsupportedAlgorithm)
        assertRejected(try forge(header: #"{"alg":"HS25\u0036\u0301"}"#, payload: goodPayload), .unsupportedAlgorithm)
        // An escaped spelling of the right name is the same JSON string, so it is accepted.
        XCTAssertNoThrow(try signer.verify(try forge(header: #"{"alg":"\u0048S256"}"#, payload: goodPayload), now: inWindow))
    }

    func testRejectsMissingDuplicateAndUnknownHeaders() throws {
        for header in [
            #"{"typ":"JWT"}"#,                                // no alg
            #"{"alg":null}"#, #"{"alg":["HS256"]}"#, #"{"alg":256}"#,
            #"{"alg":"HS256","alg":"HS256"}"#,                // duplicate, same value
            #"{"alg":"HS256","alg":"none"}"#, #"{"alg":"none","alg":"HS256"}"#,
            #"{"alg":"HS256","\u0061lg":"none"}"#,            // duplicate through an escape
            #"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
            #"{"alg":"HS256","crit":["exp"]}"#,
            #"{"alg":"HS256","typ":"JWS"}"#, #"{"alg":"HS256","typ":1}"#,
            #"["alg","HS256"]"#, #""HS256""#, "", "{}", "{\"alg\":\"HS256\"", "{\"alg\":\"HS256\"}x",
        ] {
            assertRejected(try forge(header: header, payload: goodPayload), .malformed)
        }
        XCTAssertNoThrow(try signer.verify(try forge(header: #"{"alg":"HS256"}"#, payload: goodPayload), now: inWindow))
        XCTAssertNoThrow(try signer.verify(try forge(header: #"{"typ":"JWT","alg":"HS256","kid":"1"}"#, payload: goodPayload),
                                           now: inWindow))
    }

    // MARK: - Shape and encoding

    func testRejectsWrongSegmentCounts() throws {
        let token = try forge(header: goodHeader, payload: goodPayload)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for text in ["", ".", "..", "...", parts[0], parts[0] + "." + parts[1], token + ".", "." + token,
                     token + "." + parts[2], parts.joined(separator: ".."), parts[0] + "." + parts[1] + "." + parts[2] + ".x"] {
            assertRejected(text, .malformed)
        }
    }

    func testRejectsNonCanonicalBase64URL() throws {
        let token = try forge(header: goodHeader, payload: goodPayload)
        var parts = token.split(separator: ".").map(String.init)
        // Padding, the standard alphabet and whitespace, in each segment.
        for index in 0..<3 {
            for damage in [{ $0 + "=" }, { $0 + "==" }, { " " + $0 }, { $0 + "\n" }, { $0.replacingOccurrences(of: "J", with: "+") },
                           { $0.replacingOccurrences(of: "i", with: "/") }] as [(String) -> String] {
                var damaged = parts
                damaged[index] = damage(parts[index])
                if damaged[index] != parts[index] { assertRejected(damaged.joined(separator: "."), .malformed) }
            }
        }
        // Same bytes, different text: the 43-character signature has two unused low bits.
        let last = parts[2].removeLast()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let value = alphabet.firstIndex(of: last)!
        parts[2].append(alphabet[value ^ 1])
        assertRejected(parts.joined(separator: "."), .malformed)
    }

    func testRejectsOversizedTokens() throws {
        let filler = String(repeating: "x", count: 6200)
        let big = try forge(header: goodHeader, payload: #"{"sub":"u1","exp":1767225600,"pad":"\#(filler)"}"#)
        XCTAssertGreaterThan(big.utf8.count, 8192)
        assertRejected(big, .malformed)
        XCTAssertNoThrow(try signer.verify(big, now: inWindow, options: JWTVerificationOptions(maximumTokenLength: 16_384)))
        assertRejected(String(repeating: "a", count: 1_000_000), .malformed)
        XCTAssertThrowsError(try signer.sign(JWTClaims(expiresAt: inWindow, additional: ["pad": .string(filler)])))
    }

    // MARK: - Signature

    func testRejectsBadSignatures() throws {
        let token = try forge(header: goodHeader, payload: goodPayload)
        assertRejected(try forge(header: goodHeader, payload: goodPayload, secret: Self.secret + "!"), .badSignature)
        let parts = token.split(separator: ".").map(String.init)
        // Another payload under the original signature.
        let other = Base64URL.encode(Array(#"{"sub":"u2","role":"service_role","exp":1767225600}"#.utf8))
        assertRejected([parts[0], other, parts[2]].joined(separator: "."), .badSignature)
        // Truncated, empty and over-long signatures.
        let mac = Base64URL.decode(parts[2])!
        for signature in [Array(mac.prefix(31)), [], mac + [0], Array(mac.prefix(16))] {
            assertRejected([parts[0], parts[1], Base64URL.encode(signature)].joined(separator: "."), .badSignature)
        }
        var flipped = mac
        flipped[0] ^= 0x80
        assertRejected([parts[0], parts[1], Base64URL.encode(flipped)].joined(separator: "."), .badSignature)
    }

    func testShortSecretsAreRefused() {
        XCTAssertThrowsError(try JWTSigner(secret: SecretBytes(utf8: String(repeating: "k", count: 31))))
        XCTAssertNoThrow(try JWTSigner(secret: SecretBytes(utf8: String(repeating: "k", count: 32))))
        XCTAssertFalse(signer.description.contains("super"))
        XCTAssertFalse(String(reflecting: signer).contains("super"))
    }

    // MARK: - Claims and time

    func testClaimTypesAreChecked() throws {
        for payload in [
            #"{"sub":"u1"}"#,                                      // no exp
            #"{"exp":"1767225600"}"#, #"{"exp":true}"#, #"{"exp":[1]}"#,
            #"{"exp":1767225600,"nbf":"0"}"#, #"{"exp":1767225600,"iat":{}}"#,
            #"{"exp":1767225600,"sub":1}"#, #"{"exp":1767225600,"aud":1}"#, #"{"exp":1767225600,"aud":["a",1]}"#,
            #"{"exp":1767225600,"role":false}"#, #"{"exp":1767225600,"is_anonymous":"false"}"#,
            #"{"exp":1767225600,"app_metadata":[]}"#, #"{"exp":1767225600,"user_metadata":"x"}"#,
        ] {
            assertRejected(try forge(header: goodHeader, payload: payload), .invalidClaims)
        }
        for payload in [#"[1]"#, #"{"exp":1767225600,"exp":1767225600}"#, #"{"exp":1767225600,"m":{"a":1,"a":2}}"#,
                        #"{"exp":1767225600"#, #"{"exp":1e999}"#, "", #"{"exp":1767225600} "# + "x"] {
            assertRejected(try forge(header: goodHeader, payload: payload), .malformed)
        }
        // null means absent; exp may be left out when the caller says so.
        let lenient = JWTVerificationOptions(requireExpiration: false)
        let claims = try signer.verify(try forge(header: goodHeader, payload: #"{"sub":null,"exp":null,"aud":null}"#),
                                       now: inWindow, options: lenient).claims
        XCTAssertNil(claims.subject)
        XCTAssertNil(claims.expiresAt)
        XCTAssertEqual(claims.additional, [:])
    }

    func testExpiryAndLeeway() throws {
        let token = try forge(header: goodHeader, payload: goodPayload)  // exp 1767225600
        let exp = 1_767_225_600.0
        XCTAssertNoThrow(try signer.verify(token, now: Date(timeIntervalSince1970: exp + 29)))
        assertRejected(token, .expired, now: Date(timeIntervalSince1970: exp + 30))
        let strict = JWTVerificationOptions(leeway: 0)
        XCTAssertNoThrow(try signer.verify(token, now: Date(timeIntervalSince1970: exp - 0.001), options: strict))
        assertRejected(token, .expired, now: Date(timeIntervalSince1970: exp), options: strict)
        assertRejected(token, .expired, now: Date(timeIntervalSince1970: exp), options: JWTVerificationOptions(leeway: -100))
    }

    func testAudienceOnlyWhenAsked() throws {
        let noAudience = try forge(header: goodHeader, payload: goodPayload)
        XCTAssertNoThrow(try signer.verify(noAudience, now: inWindow))
        assertRejected(noAudience, .audienceMismatch, options: JWTVerificationOptions(audience: "authenticated"))
        let single = try forge(header: goodHeader, payload: #"{"aud":"authenticated","exp":1767225600}"#)
        XCTAssertNoThrow(try signer.verify(single, now: inWindow, options: JWTVerificationOptions(audience: "authenticated")))
        assertRejected(single, .audienceMismatch, options: JWTVerificationOptions(audience: "Authenticated"))
        assertRejected(try forge(header: goodHeader, payload: #"{"aud":[],"exp":1767225600}"#), .audienceMismatch,
                       options: JWTVerificationOptions(audience: "authenticated"))
    }

    // MARK: - Fuzz

    /// 10,000 hostile inputs: random bytes, random base64url segments, and single-character
    /// mutations of a valid token. Every one must be refused with a JWTError; none may crash.
    func testFuzzRandomTokensAreRejected() throws {
        var rng = SplitMix64(seed: 0x0DDB_A11)
        let valid = Self.goTrueToken
        let validBytes = Array(valid.utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let mutationAlphabet = alphabet + Array(".=+/ \u{0}".utf8)
        func segment(_ length: Int) -> [UInt8] {
            (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
        }
        for iteration in 0..<10_000 {
            let candidate: [UInt8]
            switch iteration % 3 {
            case 0:
                candidate = .random(count: Int.random(in: 0...300, using: &rng), using: &rng)
            case 1:
                candidate = segment(Int.random(in: 0...60, using: &rng)) + [UInt8(ascii: ".")]
                    + segment(Int.random(in: 0...200, using: &rng)) + [UInt8(ascii: ".")] + segment(43)
            default:
                var bytes = validBytes
                let position = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[position] = mutationAlphabet[Int.random(in: 0..<mutationAlphabet.count, using: &rng)]
                case 1: bytes.remove(at: position)
                default: bytes.insert(mutationAlphabet[Int.random(in: 0..<mutationAlphabet.count, using: &rng)], at: position)
                }
                if bytes == validBytes { continue }
                candidate = bytes
            }
            let token = String(decoding: candidate, as: UTF8.self)
            do {
                _ = try signer.verify(token, now: inWindow)
                XCTFail("accepted: \(token)")
            } catch is JWTError {
            } catch {
                XCTFail("unexpected error \(error) for \(token)")
            }
        }
    }
}
