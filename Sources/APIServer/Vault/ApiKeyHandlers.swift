import Domain
import Foundation
import Providers

/// `/v1/api-keys`: decode, call the vault, encode. Responses carry the mask, never the key.
struct ApiKeyHandlers: Sendable {
    let vault: KeyVault
    let authenticator: Authenticator
    let keyChecks: KeyChecks

    private struct CreateBody: Decodable {
        let provider: String?
        let label: String?
        let key: String?
    }

    func create(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let body = try request.decodeBody(CreateBody.self)
        let record = try vault.create(identity, provider: body.provider, label: body.label, key: body.key)
        var response = try HTTPResponse.json(ApiKeyBody(record), status: 201)
        response.headers.append(("Location", "/v1/api-keys/\(record.id.lowercasedString)"))
        return response
    }

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        return try .json(ApiKeyList(data: try vault.list(identity).map(ApiKeyBody.init)))
    }

    /// `GET /v1/api-keys/{id}`: where `Location` of a new key points.
    func get(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        return try .json(ApiKeyBody(try vault.record(identity, id: request.pathParameters["id"] ?? "")))
    }

    private struct UpdateBody: Decodable {
        let label: String?
    }

    /// `PATCH /v1/api-keys/{id}`: the label only (any other member is 422 `unknown_field`).
    func update(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let body = try request.decodeBody(UpdateBody.self)
        return try .json(ApiKeyBody(try vault.relabel(identity, id: request.pathParameters["id"] ?? "", label: body.label)))
    }

    func delete(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        try vault.delete(identity, id: request.pathParameters["id"] ?? "")
        return .noContent()
    }
}

extension ApiKeyHandlers {
    /// `POST /v1/api-keys/{id}/test`: the provider's free key check, recorded on the key. A
    /// deferred route: the caller and the per-user limit are checked here, the check itself runs
    /// on the provider work queue.
    func test(_ request: HTTPRequest) throws -> DeferredWork {
        let identity = try authenticator.liveIdentity(of: request)
        let id = request.pathParameters["id"] ?? ""
        // A malformed id cannot name a key: answered here without taking a place in the queue.
        guard UUID(uuidString: id) != nil else { throw DomainError.notFound(resource: "API key") }
        let (vault, checks) = (vault, keyChecks)
        guard checks.perUser.acquire(identity.userID) else {
            throw Problem.tooManyKeyChecks(limit: checks.perUser.limit, retryAfterSeconds: checks.retryAfterSeconds)
        }
        return DeferredWork(queue: checks.queue, run: {
            let outcome = try vault.test(identity, id: id) { checks.providers.provider($0) }
            return try HTTPResponse.json(KeyTestBody(outcome))
        }, finally: { checks.perUser.release(identity.userID) })
    }
}

private struct KeyTestBody: Encodable {
    struct Account: Encodable {
        let label: String?
        let tier: String?
        let unit: String?
        let limit: String?
        let used: String?
        let remaining: String?
        let resetsAt: Date?
    }

    let result: String
    let reason: String
    let key: ApiKeyBody
    let account: Account?

    init(_ outcome: KeyTestOutcome) {
        result = outcome.verdict.rawValue
        reason = outcome.reason
        key = ApiKeyBody(outcome.record)
        account = outcome.account.map {
            Account(label: $0.label, tier: $0.tier, unit: $0.unit, limit: $0.limit?.description, used: $0.used?.description,
                    remaining: $0.remaining?.description, resetsAt: $0.resetsAt)
        }
    }
}

struct ApiKeyList: Encodable {
    let data: [ApiKeyBody]
}

struct ApiKeyBody: Encodable {
    let id: String
    let provider: String
    let label: String
    let mask: String
    let status: String
    let lastCheckedAt: Date?
    let lastUsedAt: Date?
    let createdAt: Date
    let updatedAt: Date

    init(_ record: ApiKeyRecord) {
        id = record.id.lowercasedString
        provider = record.provider.rawValue
        label = record.label
        mask = record.mask
        status = record.status.rawValue
        lastCheckedAt = record.lastCheckedAt
        lastUsedAt = record.lastUsedAt
        createdAt = record.createdAt
        updatedAt = record.updatedAt
    }

    // Explicit keys so absent times encode as null (a stable shape for clients) rather than vanish.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(provider, forKey: .provider)
        try container.encode(label, forKey: .label)
        try container.encode(mask, forKey: .mask)
        try container.encode(status, forKey: .status)
        try container.encode(lastCheckedAt, forKey: .lastCheckedAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, provider, label, mask, status, lastCheckedAt, lastUsedAt, createdAt, updatedAt
    }
}

extension Problem {
    /// For handlers that use a stored key (the router, key tests). Names the key, never its content.
    init(vault error: KeyVaultError) {
        switch error {
        case .unopenable(let id):
            self = Problem(status: 409, code: "api_key_unreadable", title: "Conflict",
                           detail: "The stored key \(id.lowercasedString) cannot be decrypted; delete it and add the key again.")
        case .noKey(let provider):
            self = Problem(status: 422, code: "no_api_key", title: "Unprocessable Content",
                           detail: "No usable \(provider.displayName) key is stored; add one with POST /v1/api-keys.")
        }
    }
}
