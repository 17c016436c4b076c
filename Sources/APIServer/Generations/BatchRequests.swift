import Domain
import Foundation

/// What `POST /v1/generations/batch` reads: one project, and up to 100 items, each a generation
/// request as `POST /v1/generations` takes it (without `project_id`) plus an optional
/// `idempotency_key`, unique within the batch.
extension BatchHandlers {
    fileprivate struct Body: Decodable {
        struct Item: Decodable {
            let type: String?
            let prompt: String?
            let provider: String?
            let model: String?
            let parameters: ParametersBody?
            let maxCostUsd: String?
            let idempotencyKey: String?
        }

        let projectId: String?
        let items: [Item]?
    }

    static func decode(_ request: HTTPRequest) throws -> (project: UUID, items: [BatchItemRequest]) {
        let body = try request.decodeBody(Body.self)
        var errors: [FieldError] = []
        let project = body.projectId.flatMap(UUID.init(uuidString:))
        if body.projectId == nil { errors.append(FieldError(field: "project_id", code: "required", message: "project_id is required")) }
        let items = body.items ?? []
        if body.items == nil {
            errors.append(FieldError(field: "items", code: "required", message: "items is required"))
        } else if items.isEmpty || items.count > BatchAdmission.maximumItems {
            errors.append(FieldError(field: "items", code: items.isEmpty ? "too_few" : "too_many",
                                     message: "A batch has 1 to \(BatchAdmission.maximumItems) items."))
        }
        guard errors.isEmpty else { throw DomainError.validation(errors) }
        var requests: [BatchItemRequest] = []
        var keys: Set<String> = []
        for (index, item) in items.enumerated() {
            let path = "items[\(index)]"
            let kind = item.type.flatMap(MediaKind.init(rawValue:))
            if kind == nil {
                errors.append(FieldError(field: "\(path).type", code: "invalid",
                                         message: "type must be one of \(MediaKind.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            if kind == .imageToVideo { errors.append(GenerationHandlers.imageToVideoRefusal(field: "\(path).type")) }
            if item.prompt == nil { errors.append(FieldError(field: "\(path).prompt", code: "required", message: "prompt is required")) }
            let provider = item.provider.flatMap(ProviderID.init(rawValue:))
            if item.provider != nil, provider == nil {
                errors.append(FieldError(field: "\(path).provider", code: "invalid",
                                         message: "provider must be one of \(ProviderID.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            var maxCost: Money?
            if let text = item.maxCostUsd {
                do { maxCost = try Money(parsing: text) } catch { errors.append(error.fieldError("\(path).max_cost_usd")) }
            }
            if let key = item.idempotencyKey {
                if !(1...255).contains(key.utf8.count) {
                    errors.append(FieldError(field: "\(path).idempotency_key", code: "invalid",
                                             message: "idempotency_key has 1 to 255 characters"))
                } else if !keys.insert(key).inserted {
                    errors.append(FieldError(field: "\(path).idempotency_key", code: "duplicate",
                                             message: "idempotency_key must be unique within the batch"))
                }
            }
            guard let kind, let prompt = item.prompt, let projectID = body.projectId else { continue }
            let settings = item.parameters?.settings ?? GenerationSettings(parameters: GenerationParameters())
            let quote = QuoteRequest(projectID: projectID, kind: kind, prompt: prompt, provider: provider, model: item.model,
                                     parameters: settings.parameters, maxCost: maxCost)
            requests.append(BatchItemRequest(quote: quote, settings: settings, idempotencyKey: item.idempotencyKey))
        }
        guard errors.isEmpty else { throw DomainError.validation(Array(errors.prefix(Problem.maximumFieldErrors))) }
        // A project id that is not a UUID is nobody's project.
        guard let project else { throw DomainError.notFound(resource: "project") }
        return (project, requests)
    }
}
