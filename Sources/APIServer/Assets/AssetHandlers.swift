import Domain
import Foundation

/// `/v1/assets`: the library's routes. Thin: parse, one store call, encode. Uploads stream
/// (AssetUploadReceiver); content is read from storage as it is sent, never whole.
struct AssetHandlers: Sendable {
    let components: AssetComponents
    let authenticator: Authenticator

    private var store: any AssetStore { components.store }

    // MARK: upload

    /// Runs on the headers alone: who, where, what type, how large at most. A form
    /// (`multipart/form-data`) names its file's type in the file part, read as it arrives.
    func upload(_ request: HTTPRequest) throws -> any UploadReceiver {
        let identity = try authenticator.liveIdentity(of: request)
        let declaredText = request.header("content-type")
        let length = request.header("content-length").flatMap(Int64.init)
        let components = self.components
        let requestID = request.requestID
        // What the user keeps, read now so that a body which cannot fit is refused before it is read
        // (and a chunked one the moment it crosses); the row's transaction decides again, one upload
        // of the user's at a time.
        let form = declaredText?.lowercased().hasPrefix("multipart/form-data") == true
        let stored = try components.storage.stored(identity)
        // A form's length counts its boundaries and fields too: only its file part is counted, as it arrives.
        if let stored { try components.storage.quota.check(used: stored, adding: form ? 0 : length ?? 0) }
        if let declaredText, form {
            let largest = [MediaKind.image, .audio, .video, .text].map(components.limits.limit(for:)).max() ?? 0
            if let length, length > largest { throw AssetProblems.tooLarge(limit: largest, kind: .video) }
            let query = try AssetQueries.upload(request.query)
            guard let receiver = MultipartUploadReceiver(contentType: declaredText, open: { declared, filename in
                let opened = AssetUploadReceiver.Opened(uploadID: UUID(), identity: identity, projectID: query.project, declared: declared,
                                                        limit: components.limits.limit(for: declared.kind), stored: stored,
                                                        filename: query.filename ?? filename, parents: query.parents, requestID: requestID)
                return try AssetUploadReceiver(opened, components: components)
            }) else { throw MultipartUploadReceiver.malformed("multipart/form-data needs a boundary parameter.") }
            return receiver
        }
        guard let declared = declaredText.flatMap(UploadMediaType.init(declared:)) else { throw AssetProblems.unsupportedType(declaredText) }
        let limit = components.limits.limit(for: declared.kind)
        if let length, length > limit { throw AssetProblems.tooLarge(limit: limit, kind: declared.kind) }
        let query = try AssetQueries.upload(request.query)
        let opened = AssetUploadReceiver.Opened(uploadID: UUID(), identity: identity, projectID: query.project, declared: declared, limit: limit,
                                                stored: stored, filename: query.filename, parents: query.parents, requestID: requestID)
        return try AssetUploadReceiver(opened, components: components)
    }

    // MARK: reading and editing

    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let page = try store.list(try AssetQueries.filter(request.query), claimsJSON: identity.claimsJSON)
        return .json(bytes: try ListedPageJSON.assets.body(of: page))
    }

    func get(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        guard let asset = try store.asset(try Self.id(request), claimsJSON: identity.claimsJSON) else { throw DomainError.notFound(resource: "asset") }
        return try Self.respond(asset)
    }

    func update(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        let id = try Self.id(request)
        let changes = try request.decodeBody(AssetPatchRequest.self).changes
        try AssetQueries.validate(changes)
        var expected: Int?
        let condition: IfMatch?
        do {
            condition = try IfMatch.parse(request.header("if-match"))
        } catch {
            throw Problem(status: 400, code: "invalid_if_match", title: "Bad Request",
                          detail: "If-Match must be * or a comma-separated list of quoted entity tags.")
        }
        if case .tags = condition {
            // Checked against the current row, then the write is made conditional on that version.
            guard let current = try store.asset(id, claimsJSON: identity.claimsJSON) else { throw DomainError.notFound(resource: "asset") }
            guard condition?.isSatisfied(by: EntityTag(String(current.entityTag.dropFirst().dropLast()))) == true else {
                throw DomainError.preconditionFailed
            }
            expected = current.version
        }
        guard let asset = try store.update(id, expectedVersion: expected, changes: changes, claimsJSON: identity.claimsJSON) else {
            throw DomainError.notFound(resource: "asset")
        }
        return try Self.respond(asset)
    }

    func delete(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        let blobs = components.blobs
        switch try store.delete([try Self.id(request)], claimsJSON: identity.claimsJSON, deleteBlob: { try blobs.delete($0) }) {
        case .success: return .noContent()
        case .failure: throw DomainError.notFound(resource: "asset")
        }
    }

    func lineage(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        let id = try Self.id(request)
        guard let lineage = try store.lineage(id, claimsJSON: identity.claimsJSON) else { throw DomainError.notFound(resource: "asset") }
        return try .json(AssetLineageBody(assetId: id.lowercasedString, generationId: lineage.generationID?.lowercasedString,
                                          parents: lineage.parents.map { $0.lowercasedString },
                                          children: lineage.children.map { $0.lowercasedString }))
    }

    func bulk(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        let operation = try AssetQueries.bulk(try request.decodeBody(BulkRequest.self))
        let ids = operation.ids
        let missing: MissingAssets?
        switch operation.action {
        case .delete:
            let blobs = components.blobs
            if case .failure(let failure) = try store.delete(ids, claimsJSON: identity.claimsJSON, deleteBlob: { try blobs.delete($0) }) {
                missing = failure
            } else {
                missing = nil
            }
        case .change(let changes):
            if case .failure(let failure) = try store.bulkUpdate(ids, changes: changes, claimsJSON: identity.claimsJSON) {
                missing = failure
            } else {
                missing = nil
            }
        }
        if let missing { throw AssetProblems.bulkMissing(missing.ids) }
        return try .json(BulkResultBody(action: operation.name, results: ids.map { .init(id: $0.lowercasedString, status: "ok") }))
    }

    // MARK: content

    func content(_ request: HTTPRequest) throws -> HTTPResponse {
        let id = try Self.id(request)
        let asset: Asset
        var disposition = AssetURLSigner.Disposition.inline
        let signed = request.query["signature"] != nil
        if signed {
            guard let grant = components.signer.verify(asset: id, query: request.query, now: Date()) else { throw AssetProblems.badSignature() }
            guard let found = try store.asset(id, claimsJSON: GenerationExecutor.claims(for: grant.user)) else {
                throw DomainError.notFound(resource: "asset")
            }
            asset = found
            disposition = grant.disposition
        } else {
            let identity = try authenticator.identity(of: request)
            guard let found = try store.asset(id, claimsJSON: identity.claimsJSON) else { throw DomainError.notFound(resource: "asset") }
            asset = found
            if let text = request.query["disposition"] {
                guard let value = AssetURLSigner.Disposition(rawValue: text) else {
                    throw DomainError.validation([FieldError(field: "disposition", code: "invalid", message: "disposition must be inline or attachment")])
                }
                disposition = value
            }
        }
        var headers = [("ETag", "\"\(asset.sha256)\""), ("Accept-Ranges", "bytes"),
                       ("Content-Disposition", AssetQueries.contentDisposition(asset, disposition)),
                       ("Cache-Control", "private, max-age=3600"), ("Cross-Origin-Resource-Policy", "cross-origin")]
        if signed {
            // Open to any page: the URL itself is the credential (no cookies are involved).
            headers += [("Access-Control-Allow-Origin", "*"),
                        ("Access-Control-Expose-Headers", "ETag, Content-Range, Accept-Ranges, Content-Disposition, X-Request-Id")]
        }
        return try Self.stream(asset.storageKey, contentType: asset.contentType, headers: headers, request: request, blobs: components.blobs,
                               etag: "\"\(asset.sha256)\"")
    }

    func thumbnail(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.identity(of: request)
        guard let asset = try store.asset(try Self.id(request), claimsJSON: identity.claimsJSON),
              asset.thumbnailState == .ready, let key = asset.thumbnailKey
        else { throw DomainError.notFound(resource: "thumbnail") }
        return try Self.stream(key, contentType: "image/jpeg", headers: [("ETag", "\"t-\(asset.sha256)\""), ("Cache-Control", "private, max-age=3600"),
                                                                          ("Cross-Origin-Resource-Policy", "cross-origin")],
                               request: request, blobs: components.blobs, etag: "\"t-\(asset.sha256)\"")
    }

    func signedURL(_ request: HTTPRequest) throws -> HTTPResponse {
        let identity = try authenticator.liveIdentity(of: request)
        let id = try Self.id(request)
        let body = try request.decodeBody(SignedURLRequest.self)
        var errors: [FieldError] = []
        let lifetime = body.expiresIn ?? 3600
        if !(1...AssetURLSigner.maximumLifetimeSeconds).contains(lifetime) {
            errors.append(FieldError(field: "expires_in", code: "out_of_range",
                                     message: "expires_in must be 1 to \(AssetURLSigner.maximumLifetimeSeconds) seconds (7 days)"))
        }
        let disposition = AssetURLSigner.Disposition(rawValue: body.disposition ?? "inline")
        if disposition == nil {
            errors.append(FieldError(field: "disposition", code: "invalid", message: "disposition must be inline or attachment"))
        }
        guard errors.isEmpty, let disposition else { throw DomainError.validation(errors) }
        guard let asset = try store.asset(id, claimsJSON: identity.claimsJSON) else { throw DomainError.notFound(resource: "asset") }
        let expires = Int64(Date().timeIntervalSince1970) + Int64(lifetime)
        let url = try components.blobs.presignedURL(asset.storageKey, expiresInSeconds: lifetime, contentType: asset.contentType,
                                                    contentDisposition: AssetQueries.contentDisposition(asset, disposition))
            ?? components.signer.url(asset: id, user: identity.userID, disposition: disposition, expires: expires)
        return try .json(SignedURLBody(url: url, expiresAt: Timestamp.rfc3339(Date(timeIntervalSince1970: TimeInterval(expires)))))
    }

    // MARK: helpers

    static func id(_ request: HTTPRequest) throws -> UUID {
        guard let id = request.pathParameters["id"].flatMap(UUID.init(uuidString:)) else { throw DomainError.notFound(resource: "asset") }
        return id
    }

    static func respond(_ asset: Asset) throws -> HTTPResponse {
        var response = try HTTPResponse.json(AssetBody(asset))
        response.headers.append(("ETag", asset.entityTag))
        return response
    }

    /// The blob, whole (200) or the one range asked for (206); 304 is made by the application from the ETag.
    static func stream(_ key: String, contentType: String, headers: [(String, String)], request: HTTPRequest, blobs: any BlobStore,
                       etag: String) throws -> HTTPResponse {
        guard let reader = try blobs.reader(key) else { throw DomainError.notFound(resource: "asset content") }
        let size = reader.size
        let read: @Sendable (Int64, Int) throws -> Data = { offset, count in try reader.read(offset: offset, count: count) }
        var headers = [("Content-Type", contentType)] + headers
        // If-None-Match wins over Range (RFC 9110 §13.2.2): the whole answer becomes 304. If-Range
        // with another validator means the client's part is stale: the whole content.
        let revalidating = request.header("if-none-match").map { ConditionalGet.matches($0, etag) } ?? false
        let staleRange = request.header("if-range").map { $0.trimmingCharacters(in: .whitespaces) != etag } ?? false
        if !revalidating, !staleRange {
            switch ByteRanges.evaluate(request.header("range"), size: size) {
            case .whole:
                break
            case .unsatisfiable:
                throw AssetProblems.rangeNotSatisfiable(size: size)
            case .part(let offset, let length):
                headers.append(("Content-Range", "bytes \(offset)-\(offset + length - 1)/\(size)"))
                return HTTPResponse(status: 206, headers: headers, blob: BlobBody(read: read, offset: offset, length: length))
            }
        }
        return HTTPResponse(status: 200, headers: headers, blob: BlobBody(read: read, offset: 0, length: size))
    }
}
