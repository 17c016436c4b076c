import Foundation

/// Addresses, signs and sends one S3 request, retrying what is worth retrying: 5xx answers,
/// `SlowDown`, and failed connections, at most `maxAttempts` times with doubling, jittered
/// waits. Each attempt is signed afresh (the signature covers the time).
struct S3Requester: Sendable {
    let settings: S3Settings
    let signer: SigV4Signer
    let transport: S3Transport
    let now: @Sendable () -> Date
    let sleep: @Sendable (Double) -> Void

    /// Where a request goes: the Host header's value and the unencoded path S3 signs.
    struct Target: Equatable {
        let authority: String
        let path: String
    }

    /// Path style puts the bucket in the path, virtual-host style in the host name. `key` nil
    /// addresses the bucket itself (listing).
    func target(key: String?) -> Target {
        switch settings.addressing {
        case .path:
            return Target(authority: settings.authority, path: "/\(settings.bucket)" + (key.map { "/\($0)" } ?? ""))
        case .virtual:
            return Target(authority: "\(settings.bucket).\(settings.authority)", path: "/" + (key ?? ""))
        }
    }

    func url(_ target: Target, query: [(name: String, value: String)]) -> String {
        let base = "\(settings.scheme)://\(target.authority)\(SigV4Signer.uriEncode(target.path, keepSlash: true))"
        let canonical = SigV4Signer.canonicalQuery(query)
        return canonical.isEmpty ? base : base + "?" + canonical
    }

    /// The signed request as it would be sent at `instant` (tests read its shape).
    func signedRequest(method: String, key: String?, query: [(name: String, value: String)] = [],
                       headers extra: [(name: String, value: String)] = [], body: S3Body = .none,
                       payloadHash: String, at instant: Date, maxResponseBytes: Int) throws -> S3HTTPRequest {
        let target = target(key: key)
        let timestamp = SigV4Timestamp(instant)
        let headers = [(name: "host", value: target.authority), (name: "x-amz-date", value: timestamp.dateTime),
                       (name: "x-amz-content-sha256", value: payloadHash)] + extra
        let authorization = try signer.authorization(
            for: SigV4Request(method: method, path: target.path, query: query, headers: headers, payloadHash: payloadHash),
            at: timestamp)
        return S3HTTPRequest(method: method, url: url(target, query: query),
                             headers: headers.map { ($0.name == "host" ? "Host" : $0.name, $0.value) }
                                 + [(name: "Authorization", value: authorization)],
                             body: body, maxResponseBytes: maxResponseBytes)
    }

    /// Sends until a final answer. 2xx and the statuses in `accepting` are returned; any other
    /// answer becomes `S3StoreError.service` with S3's code and message.
    func send(_ operation: String, method: String, key: String?, query: [(name: String, value: String)] = [],
              headers: [(name: String, value: String)] = [], body: S3Body = .none, payloadHash: String,
              accepting: Set<Int> = [], maxResponseBytes: Int = 1 << 20) throws -> S3HTTPResponse {
        var attempt = 1
        while true {
            let request = try signedRequest(method: method, key: key, query: query, headers: headers, body: body,
                                            payloadHash: payloadHash, at: now(), maxResponseBytes: maxResponseBytes)
            let failure: S3StoreError
            do {
                let response = try transport.perform(request)
                if (200..<300).contains(response.status) || accepting.contains(response.status) { return response }
                failure = S3StoreError.fromResponse(operation: operation, status: response.status, body: response.body,
                                                    requestID: response.header("x-amz-request-id"))
            } catch {
                failure = .transport(operation: operation, detail: error.detail)
            }
            guard failure.isRetryable, attempt < settings.maxAttempts else { throw failure }
            sleep(backoff(attempt: attempt))
            attempt += 1
        }
    }

    /// initial × 2^(attempt−1), capped, then scaled by a random factor in [0.5, 1) so many
    /// writers backing off from one SlowDown do not return together.
    func backoff(attempt: Int) -> Double {
        let exponential = settings.initialBackoffSeconds * pow(2, Double(min(attempt - 1, 16)))
        return min(settings.maxBackoffSeconds, exponential) * Double.random(in: 0.5..<1)
    }

    /// A presigned URL (query-string authentication): anyone holding it may send `method` to
    /// the object until it expires; only the host header is signed, the payload is not.
    func presignedURL(method: String, key: String, expiresInSeconds: Int, query extra: [(name: String, value: String)],
                      at instant: Date) throws -> String {
        let target = target(key: key)
        let timestamp = SigV4Timestamp(instant)
        let query = extra + [
            (name: "X-Amz-Algorithm", value: SigV4Signer.algorithm),
            (name: "X-Amz-Credential", value: "\(settings.credentials.accessKeyID)/\(signer.scope(date: timestamp.date))"),
            (name: "X-Amz-Date", value: timestamp.dateTime),
            (name: "X-Amz-Expires", value: String(expiresInSeconds)),
            (name: "X-Amz-SignedHeaders", value: "host"),
        ]
        let request = SigV4Request(method: method, path: target.path, query: query,
                                   headers: [(name: "host", value: target.authority)], payloadHash: SigV4Signer.unsignedPayload)
        let signature = try signer.signature(
            stringToSign: try signer.stringToSign(canonicalRequest: signer.canonicalRequest(request), timestamp: timestamp),
            date: timestamp.date)
        return url(target, query: query) + "&X-Amz-Signature=" + signature
    }
}
