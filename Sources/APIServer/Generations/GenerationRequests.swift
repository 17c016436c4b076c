import Crypto
import Domain
import Foundation

/// What `/v1/generations` reads from a request: the strict body, `Prefer`, `Idempotency-Key`
/// and the listing's filters.
extension GenerationHandlers {
    fileprivate struct Body: Decodable {
        let projectId: String?
        let type: String?
        let prompt: String?
        let provider: String?
        let model: String?
        let parameters: ParametersBody?
        let maxCostUsd: String?
    }

    /// Every image-to-video model needs `input_image`, which a request body cannot carry yet: a
    /// generation or batch item is refused rather than admitted, reserved and failed by the provider.
    static func imageToVideoRefusal(field: String) -> FieldError {
        FieldError(field: field, code: "needs_input_image",
                   message: "image_to_video needs parameters.input_image, which this API does not take in a request body yet "
                       + "(POST /v1/quotes prices it)")
    }

    static func decode(_ request: HTTPRequest) throws -> (QuoteRequest, GenerationSettings) {
        let body = try request.decodeBody(Body.self)
        var errors: [FieldError] = []
        let kind = body.type.flatMap(MediaKind.init(rawValue:))
        if kind == nil {
            errors.append(FieldError(field: "type", code: "invalid",
                                     message: "type must be one of \(MediaKind.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        if body.projectId == nil { errors.append(FieldError(field: "project_id", code: "required", message: "project_id is required")) }
        if body.prompt == nil { errors.append(FieldError(field: "prompt", code: "required", message: "prompt is required")) }
        let provider = body.provider.flatMap(ProviderID.init(rawValue:))
        if body.provider != nil, provider == nil {
            errors.append(FieldError(field: "provider", code: "invalid",
                                     message: "provider must be one of \(ProviderID.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        var maxCost: Money?
        if let text = body.maxCostUsd {
            do { maxCost = try Money(parsing: text) } catch { errors.append(error.fieldError("max_cost_usd")) }
        }
        guard errors.isEmpty, let kind, let projectID = body.projectId, let prompt = body.prompt else {
            throw DomainError.validation(errors)
        }
        let settings = body.parameters?.settings ?? GenerationSettings(parameters: GenerationParameters())
        let quote = QuoteRequest(projectID: projectID, kind: kind, prompt: prompt, provider: provider, model: body.model,
                                 parameters: settings.parameters, maxCost: maxCost)
        return (quote, settings)
    }

    /// `Prefer: wait=N` (RFC 7240): N seconds, at most `maximumWaitSeconds`; other preferences ignored.
    static let maximumPreferLength = 200

    static func waitSeconds(_ request: HTTPRequest) throws -> Int? {
        guard let header = request.header("prefer") else { return nil }
        // The documented bound (openapi.yaml's maxLength), so a client's validator and the server agree.
        guard header.unicodeScalars.count <= maximumPreferLength else {
            throw Problem(status: 400, code: "invalid_prefer", title: "Bad Request",
                          detail: "Prefer must be at most \(maximumPreferLength) characters.")
        }
        for preference in header.split(separator: ",") {
            let parts = preference.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.first?.lowercased() == "wait" else { continue }
            guard parts.count == 2, parts[1].count <= 6, let seconds = Int(parts[1]), seconds >= 0 else {
                throw Problem(status: 400, code: "invalid_prefer", title: "Bad Request",
                              detail: "Prefer: wait takes a whole number of seconds, at most \(maximumWaitSeconds).")
            }
            return min(seconds, maximumWaitSeconds)
        }
        return nil
    }

    static func idempotencyKey(_ request: HTTPRequest) throws -> String? {
        guard let key = request.header("idempotency-key") else { return nil }
        guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw Problem(status: 400, code: "invalid_idempotency_key", title: "Bad Request",
                          detail: "Idempotency-Key must be 1 to 255 visible ASCII characters.")
        }
        return key
    }

    /// The request as the key remembers it: method, path and the body as canonical JSON (members
    /// sorted, whitespace dropped), so the same body sent with its members in another order is
    /// the same request. The body has already been decoded strictly, so it parses.
    static func requestHash(_ request: HTTPRequest) -> String {
        var material = Data("\(request.method) \(request.path)\n".utf8)
        if let object = try? JSONSerialization.jsonObject(with: request.body, options: [.fragmentsAllowed]),
           let canonical = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed]) {
            material.append(canonical)
        } else {
            material.append(request.body)
        }
        let digest = (try? SHA256.hash(material)) ?? Array(material.prefix(32))
        return Hex.encode(digest)
    }

    static func accepted(_ record: GenerationRecord, eventsURL: String?) throws -> HTTPResponse {
        var body = GenerationBody(record)
        body.eventsUrl = eventsURL
        var response = try HTTPResponse.json(body, status: 202)
        response.headers.append(("Location", "/v1/generations/\(record.id.lowercasedString)"))
        return response
    }

    static func bodyText(_ response: HTTPResponse) -> String {
        String(decoding: response.body, as: UTF8.self)
    }

    static func filter(_ query: [String: String]) throws -> GenerationFilter {
        var filter = GenerationFilter()
        var errors: [FieldError] = []
        if let value = query["project_id"] {
            if let id = UUID(uuidString: value) { filter.projectID = id } else {
                errors.append(FieldError(field: "project_id", code: "invalid", message: "project_id must be a UUID"))
            }
        }
        if let value = query["status"] {
            if let status = GenerationStatus(rawValue: value) { filter.status = status } else {
                errors.append(FieldError(field: "status", code: "invalid", message: "status must be one of "
                                         + GenerationStatus.allCases.map(\.rawValue).joined(separator: ", ")))
            }
        }
        if let value = query["type"] {
            if let kind = MediaKind(rawValue: value) { filter.kind = kind } else {
                errors.append(FieldError(field: "type", code: "invalid", message: "type must be one of "
                                         + MediaKind.allCases.map(\.rawValue).joined(separator: ", ")))
            }
        }
        if let value = query["provider"] {
            if let provider = ProviderID(rawValue: value) { filter.provider = provider } else {
                errors.append(FieldError(field: "provider", code: "invalid", message: "provider must be one of "
                                         + ProviderID.allCases.map(\.rawValue).joined(separator: ", ")))
            }
        }
        filter.createdAfter = ListPaging.time(query, "created_after", errors: &errors)
        filter.createdBefore = ListPaging.time(query, "created_before", errors: &errors)
        if let limit = ListPaging.limit(query, errors: &errors) { filter.limit = limit }
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        filter.cursor = try ListPaging.cursor(query)
        return filter
    }
}
