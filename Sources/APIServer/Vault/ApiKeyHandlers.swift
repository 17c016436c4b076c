import Domain
import Foundation

/// `/v1/api-keys`: decode, call the vault, encode. Responses carry the mask, never the key.
struct ApiKeyHandlers: Sendable {
    let vault: KeyVault
    let authenticator: Authenticator

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
        response.headers.append(("Location", "/v1/api-keys/\(record.id.uuidString.lowercased())"))
        return response
    }

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        return try .json(ApiKeyList(data: try vault.list(identity).map(ApiKeyBody.init)))
    }

    func delete(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        try vault.delete(identity, id: request.pathParameters["id"] ?? "")
        return .noContent()
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
        id = record.id.uuidString.lowercased()
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
                           detail: "The stored key \(id.uuidString.lowercased()) cannot be decrypted; delete it and add the key again.")
        case .noKey(let provider):
            self = Problem(status: 422, code: "no_api_key", title: "Unprocessable Content",
                           detail: "No usable \(provider.displayName) key is stored; add one with POST /v1/api-keys.")
        }
    }
}
