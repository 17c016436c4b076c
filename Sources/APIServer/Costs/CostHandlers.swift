import Domain
import Foundation

/// `POST /v1/costs`: a normalised usage → its exact cost, computed by `CostCalculator.cost`, the
/// function the generation engine settles with, so a user can check any charge and reconcile a
/// provider's bill. Nothing is stored.
struct CostHandlers: Sendable {
    let store: any PricingStore
    let authenticator: Authenticator

    static let maximumProviderLength = 64
    static let maximumModelLength = 200
    static let maximumVersionLength = 100
    static let maximumLines = 64

    private struct Body: Decodable {
        let provider: String
        let model: String
        let pricingVersion: String?
        let usage: CostUsageBody
    }

    func create(_ request: HTTPRequest) throws -> HTTPResponse {
        _ = try authenticator.identity(of: request)
        let body = try request.decodeBody(Body.self)
        var errors: [FieldError] = []
        for (field, value, limit) in [("provider", body.provider, Self.maximumProviderLength), ("model", body.model, Self.maximumModelLength),
                                      ("pricing_version", body.pricingVersion ?? "", Self.maximumVersionLength)]
        where value.unicodeScalars.count > limit {
            errors.append(FieldError(field: field, code: "too_long", message: "\(field) must be at most \(limit) characters"))
        }
        if body.provider.isEmpty { errors.append(FieldError(field: "provider", code: "required", message: "provider must not be empty")) }
        if body.model.isEmpty { errors.append(FieldError(field: "model", code: "required", message: "model must not be empty")) }
        let usage = body.usage.usage(errors: &errors)
        guard errors.isEmpty else { throw DomainError.validation(errors) }

        let pricing: PricingVersion
        if let id = body.pricingVersion {
            guard let stored = try store.version(id: id) else {
                throw Problem(status: 404, code: "pricing_version_not_found", title: "Not Found",
                              detail: "No pricing version has the id \(id).")
            }
            pricing = stored
        } else {
            guard let current = try store.currentVersion() else {
                throw Problem(status: 503, code: "pricing_unavailable", title: "Service Unavailable",
                              detail: "No pricing version is loaded: run `apiserver migrate` or `apiserver pricing import FILE`.")
            }
            pricing = current
        }
        let breakdown = CostCalculator.cost(of: usage, provider: body.provider, model: body.model, pricing: pricing)
        return try .json(CostBody(breakdown))
    }
}
