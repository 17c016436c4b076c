import Domain
import COpenSSL
import Crypto
import Foundation

// `Benchmarks crypto [--seconds N] [--samples N] [--only aead|jwt|scrypt|bcrypt]`
//
// One line per figure, tab-separated, for scripts/bench-crypto.sh to parse:
//     <name>\t<value>\t<unit>\t<what it measures>
// Figures are single-threaded. Each `raw_*` line is a baseline measured in the same run: the same
// OpenSSL work called directly, without this module's envelope, key type or checks, so the ratio
// shows what the wrapper costs.
func runCryptoBenchmarks(_ arguments: [String]) {
    var seconds = 1.0
    var samples = 5
    var only: String?
    var index = 0
    while index < arguments.count {
        switch arguments[index] {
        case "--seconds" where index + 1 < arguments.count:
            seconds = Double(arguments[index + 1]) ?? seconds
            index += 1
        case "--samples" where index + 1 < arguments.count:
            samples = Int(arguments[index + 1]) ?? samples
            index += 1
        case "--only" where index + 1 < arguments.count:
            only = arguments[index + 1]
            index += 1
        default:
            print("usage: Benchmarks crypto [--seconds N] [--samples N] [--only aead|jwt|scrypt|bcrypt]")
            return
        }
        index += 1
    }
    do {
        try CryptoBenchmarks(seconds: seconds, samples: max(1, samples)).run(only: only)
    } catch {
        print("crypto benchmarks failed: \(error)")
        exit(1)
    }
}

private struct CryptoBenchmarks {
    let seconds: Double
    let samples: Int

    func run(only: String?) throws {
        if only == nil || only == "aead" { try sealAndOpen() }
        if only == nil || only == "jwt" { try jwt() }
        if only == nil || only == "scrypt" { try scrypt() }
        if only == nil || only == "bcrypt" { try bcrypt() }
    }

    // MARK: - AES-256-GCM, 100-byte secret

    func sealAndOpen() throws {
        let keyBytes = try SecureRandom.bytes(count: 32)
        let key = try EncryptionKey(SecretBytes(copying: keyBytes))
        let ring = try Keyring(currentVersion: 1, keys: [1: key])
        let secret = [UInt8](repeating: 0x61, count: 100)
        let binding = Array("user:deadbeef-dead-beef-dead-beefdeadbeef/key:1".utf8)

        report("seal_100B", opsPerSecond { _ = try ring.seal(secret, associatedData: binding) },
               "ops/s", "Keyring.seal: 100-byte plaintext, 47-byte AAD, fresh nonce, 133-byte envelope")
        let envelope = try ring.seal(secret, associatedData: binding)
        report("open_100B", opsPerSecond { _ = try ring.open(envelope, associatedData: binding) },
               "ops/s", "Keyring.open of that envelope into SecretBytes")

        let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
        var nonce = [UInt8](repeating: 0, count: 12)
        var ciphertext = [UInt8](repeating: 0, count: 100)
        var tag = [UInt8](repeating: 0, count: 16)
        report("raw_evp_seal_100B", opsPerSecond {
            guard RAND_bytes(&nonce, 12) == 1 else { throw CryptoError.randomUnavailable }
            try rawSeal(cipher, keyBytes, nonce, binding, secret, &ciphertext, &tag)
        }, "ops/s", "baseline: RAND_bytes + EVP_CIPHER_CTX_new/EncryptInit_ex2/Update/Final/GET_TAG, same sizes")
        var plain = [UInt8](repeating: 0, count: 100)
        report("raw_evp_open_100B", opsPerSecond {
            try rawOpen(cipher, keyBytes, nonce, binding, ciphertext, tag, &plain)
        }, "ops/s", "baseline: EVP_CIPHER_CTX_new/DecryptInit_ex2/Update/SET_TAG/Final, same sizes")
    }

    // MARK: - JWT

    func jwt() throws {
        let secretText = "super-secret-jwt-token-with-at-least-32-characters-long"
        let signer = try JWTSigner(secret: SecretBytes(utf8: secretText))
        let now = Date(timeIntervalSince1970: 1_767_223_000)
        let claims = JWTClaims(
            issuer: "http://127.0.0.1:8080/auth/v1", subject: "deadbeef-dead-beef-dead-beefdeadbeef",
            audience: ["authenticated"], expiresAt: now.addingTimeInterval(3600), issuedAt: now,
            role: "authenticated", email: "ada@example.com", sessionID: "6f1c2e0a-4a57-4c43-9a0e-0d2b1f6f2f11",
            authenticatorAssuranceLevel: "aal1", isAnonymous: false,
            appMetadata: ["provider": .string("email"), "providers": .array([.string("email")])],
            userMetadata: ["name": .string("Ada Lovelace")],
            additional: ["amr": .array([.object(["method": .string("password"), "timestamp": .number("1767222000")])]),
                         "phone": .string("")])
        let token = try signer.sign(claims)
        let options = JWTVerificationOptions(audience: "authenticated")

        report("jwt_verify", opsPerSecond { _ = try signer.verify(token, now: now, options: options) },
               "ops/s", "JWTSigner.verify of a \(token.utf8.count)-byte GoTrue-style access token, aud checked")
        report("jwt_sign", opsPerSecond { _ = try signer.sign(claims) },
               "ops/s", "JWTSigner.sign of the same claims")

        let signingInput = Array(token.utf8.prefix { $0 != UInt8(ascii: ".") }) + [UInt8(ascii: ".")]
            + Array(token.split(separator: ".")[1].utf8)
        let key = Array(secretText.utf8)
        var mac = [UInt8](repeating: 0, count: 32)
        var macLength: UInt32 = 0
        report("raw_hmac_jwt_input", opsPerSecond {
            guard HMAC(EVP_sha256(), key, Int32(key.count), signingInput, signingInput.count, &mac, &macLength) != nil else {
                throw CryptoError.libraryFailure("HMAC")
            }
        }, "ops/s", "baseline: one OpenSSL HMAC() over that token's signing input, no parsing or checks")
    }

    // MARK: - Slow KDFs: time per call, median of `samples`

    func scrypt() throws {
        let salt = try SecureRandom.bytes(count: 16)
        let password = Array("a deployment secret of reasonable length".utf8)
        report("scrypt_default", try medianMilliseconds {
            _ = try Scrypt.deriveKey(password: password, salt: salt, parameters: .default)
        }, "ms", "one Scrypt.deriveKey at \(ScryptParameters.default) (median of \(samples))")
    }

    func bcrypt() throws {
        report("bcrypt_hash_cost10", try medianMilliseconds { _ = try Bcrypt.hash("correct horse battery staple") },
               "ms", "one Bcrypt.hash at cost 10 (median of \(samples))")
        let hash = try Bcrypt.hash("correct horse battery staple")
        report("bcrypt_verify_cost10", try medianMilliseconds {
            guard try Bcrypt.verify("correct horse battery staple", against: hash) else { throw CryptoError.invalidPasswordHash }
        }, "ms", "one Bcrypt.verify at cost 10 (median of \(samples))")
    }

    // MARK: - Measurement

    /// Runs `body` in growing batches until `seconds` have passed; returns operations per second.
    func opsPerSecond(_ body: () throws -> Void) -> Double {
        do {
            for _ in 0..<100 { try body() }  // warm up: first fetches, allocator, caches
            let clock = ContinuousClock()
            let start = clock.now
            var operations = 0
            var batch = 64
            while true {
                for _ in 0..<batch { try body() }
                operations += batch
                let elapsed = start.duration(to: clock.now)
                let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                if elapsedSeconds >= seconds { return Double(operations) / elapsedSeconds }
                batch = min(batch * 2, 65_536)
            }
        } catch {
            print("benchmark body failed: \(error)")
            return .nan
        }
    }

    func medianMilliseconds(_ body: () throws -> Void) throws -> Double {
        try body()  // warm up
        let clock = ContinuousClock()
        var times: [Double] = []
        for _ in 0..<samples {
            let start = clock.now
            try body()
            let elapsed = start.duration(to: clock.now)
            times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        return times.sorted()[times.count / 2]
    }

    func report(_ name: String, _ value: Double, _ unit: String, _ what: String) {
        let rounded = unit == "ms" ? String(format: "%.1f", value) : String(format: "%.0f", value)
        print("\(name)\t\(rounded)\t\(unit)\t\(what)")
    }
}

// MARK: - Raw EVP baselines

private func rawSeal(_ cipher: OpaquePointer?, _ key: [UInt8], _ nonce: [UInt8], _ aad: [UInt8], _ plaintext: [UInt8],
                     _ ciphertext: inout [UInt8], _ tag: inout [UInt8]) throws {
    guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.libraryFailure("EVP_CIPHER_CTX_new") }
    defer { EVP_CIPHER_CTX_free(ctx) }
    var length: Int32 = 0
    var final = [UInt8](repeating: 0, count: 16)
    guard EVP_EncryptInit_ex2(ctx, cipher, key, nonce, nil) == 1,
          EVP_EncryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
          EVP_EncryptUpdate(ctx, &ciphertext, &length, plaintext, Int32(plaintext.count)) == 1,
          EVP_EncryptFinal_ex(ctx, &final, &length) == 1,
          EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &tag) == 1
    else { throw CryptoError.libraryFailure("raw seal") }
}

private func rawOpen(_ cipher: OpaquePointer?, _ key: [UInt8], _ nonce: [UInt8], _ aad: [UInt8], _ ciphertext: [UInt8],
                     _ tag: [UInt8], _ plaintext: inout [UInt8]) throws {
    guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.libraryFailure("EVP_CIPHER_CTX_new") }
    defer { EVP_CIPHER_CTX_free(ctx) }
    var length: Int32 = 0
    var expected = tag
    var final = [UInt8](repeating: 0, count: 16)
    guard EVP_DecryptInit_ex2(ctx, cipher, key, nonce, nil) == 1,
          EVP_DecryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
          EVP_DecryptUpdate(ctx, &plaintext, &length, ciphertext, Int32(ciphertext.count)) == 1,
          EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &expected) == 1,
          EVP_DecryptFinal_ex(ctx, &final, &length) == 1
    else { throw CryptoError.libraryFailure("raw open") }
}
