import Domain
import Foundation

/// Errors on the OpenAI-compatible surface, in OpenAI's envelope: OpenAI's clients read
/// `error.message` (and raise by status), so `{"error": {"message", "type", "param", "code"}}`
/// with our stable snake_case code in `code`, plus `request_id`. Headers (`Retry-After`,
/// `WWW-Authenticate`) are kept.
enum ChatErrors {
    struct Envelope: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String
        }

        let error: Detail
        let requestId: String
    }

    static func response(_ problem: Problem, requestID: String) -> HTTPResponse {
        let detail = Envelope.Detail(message: problem.detail, type: type(for: problem.status),
                                     param: problem.errors?.first?.field, code: problem.code)
        let data = (try? JSONCoding.encoder.encode(Envelope(error: detail, requestId: requestID))) ?? Data()
        return HTTPResponse(status: problem.status, headers: [("Content-Type", "application/json")] + problem.headers, body: data)
    }

    /// OpenAI's `error.type` for a status.
    static func type(for status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 402: "insufficient_quota"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }

    /// The server stopped with the answer still streaming. Not "retry": the generation's provider
    /// may still bill what it began, and its generation shows what was charged.
    static func stoppedMidStream(_ id: UUID) -> Problem {
        Problem(status: 503, code: "shutting_down", title: "Service Unavailable",
                detail: "The server stopped while this answer was streaming, so it is cut short; GET /v1/generations/"
                    + id.lowercasedString + " shows how its generation ended and what it was charged.")
    }

    static func modelNotFound(_ model: String) -> Problem {
        Problem(status: 404, code: "model_not_found", title: "Not Found",
                detail: "The model '\(model)' does not exist in the catalog; GET /v1/providers lists the models each provider offers.")
    }

    /// The generation ended without an answer. Usually nothing was charged (its reservation was
    /// released). When something was (the provider may have billed work whose answer was lost:
    /// `outcome_unknown`, `output_lost`), the status is 422, which OpenAI's SDKs do not retry, since
    /// a retry would be charged again; the charge is in `X-Cost-USD` and the message.
    static func generationFailed(_ record: GenerationRecord) -> Problem {
        let code = record.errorCode ?? "generation_failed"
        let message = record.errorMessage ?? "The generation ended without an answer."
        if record.chargedAnything, let charged = record.actualCost {
            return Problem(status: 422, code: code, title: "Unprocessable Content",
                           detail: message + " \(charged.jsonString) USD was charged (GET /v1/generations/"
                               + "\(record.id.lowercasedString) shows it); not answered with a status clients retry, since a retry would be charged again.",
                           headers: [("X-Generation-Id", record.id.lowercasedString), ("X-Cost-USD", charged.jsonString)])
        }
        if record.chargeMayFollow { return chargePending(record, reason: "The generation was canceled while its provider was answering.") }
        switch record.status {
        case .canceled:
            return Problem(status: 409, code: "generation_canceled", title: "Conflict",
                           detail: "The generation was canceled before it finished; nothing was charged.")
        case .expired:
            return Problem(status: 504, code: code, title: "Gateway Timeout", detail: message + " Nothing was charged.")
        default:
            return Problem(status: 502, code: code, title: "Bad Gateway", detail: message + " Nothing was charged.")
        }
    }

    /// Still running at the deadline, and canceled then (`canceled`, the record the cancel wrote):
    /// nothing was charged, unless its provider was answering, whose bill is then still to come.
    static func deadline(seconds: Int, canceled: GenerationRecord? = nil) -> Problem {
        if let canceled, canceled.chargeMayFollow {
            return chargePending(canceled, code: "deadline_exceeded",
                                 reason: "No answer within \(seconds) s; the generation was canceled while its provider was answering.")
        }
        return Problem(status: 504, code: "deadline_exceeded", title: "Gateway Timeout",
                       detail: "No answer within \(seconds) s; the generation was canceled and nothing was charged.")
    }

    /// Canceled while the provider held work it may bill: what it bills is charged to the generation
    /// when its answer arrives. Like a charged failure, 422, which OpenAI's SDKs do not retry.
    private static func chargePending(_ record: GenerationRecord, code: String = "generation_canceled", reason: String) -> Problem {
        let id = record.id.lowercasedString
        return Problem(status: 422, code: code, title: "Unprocessable Content",
                       detail: reason + " What the provider bills for that answer is charged to it (GET /v1/generations/\(id) "
                           + "shows the charge); not answered with a status clients retry, since a retry would be charged again.",
                       headers: [("X-Generation-Id", id)])
    }
}

extension GenerationRecord {
    /// Whether the ledger charged anything for it: a completion, or a failure the provider may have
    /// billed. Such an answer keeps its Idempotency-Key and is never one OpenAI's SDKs retry.
    var chargedAnything: Bool { actualCost.map { $0 > .zero } ?? false }

    /// Whether an answer about it keeps its Idempotency-Key bound to it (a retry replays it): it
    /// succeeded, was charged, or may still be charged for a provider's answer in flight.
    var keepsIdempotencyKey: Bool { status == .succeeded || chargedAnything || chargeMayFollow }
}
