import Domain
import Foundation

/// The problems only asset routes answer.
enum AssetProblems {
    static func tooLarge(limit: Int64, kind: MediaKind) -> Problem {
        Problem(status: 413, code: "payload_too_large", title: "Content Too Large",
                detail: "A \(kind.rawValue) upload may be at most \(limit) bytes.")
    }

    /// 403, not 413 or 507: the request is fine and only deleting assets makes room (and SDKs retry 5xx).
    static func quotaExceeded(_ error: StorageQuotaExceeded) -> Problem {
        let adding = error.adding.map { "; this upload adds \($0) bytes" } ?? ""
        return Problem(status: 403, code: "storage_quota_exceeded", title: "Forbidden",
                       detail: "Your assets take \(error.used) of the \(error.quota) bytes you may keep\(adding). "
                           + "Delete assets to make room.")
    }

    static func unsupportedType(_ declared: String?) -> Problem {
        Problem(status: 415, code: "unsupported_media_type", title: "Unsupported Media Type",
                detail: "Upload one of: " + UploadMediaType.allCases.map(\.rawValue).joined(separator: ", ")
                    + (declared.map { " (got \(String($0.prefix(100))))" } ?? " (no Content-Type given)") + ".")
    }

    static func contentMismatch(_ declared: UploadMediaType) -> Problem {
        Problem(status: 415, code: "content_type_mismatch", title: "Unsupported Media Type",
                detail: "The bytes are not \(declared.rawValue), as the Content-Type says.")
    }

    static func rangeNotSatisfiable(size: Int64) -> Problem {
        Problem(status: 416, code: "range_not_satisfiable", title: "Range Not Satisfiable",
                detail: "The range is outside the asset's \(size) bytes.", headers: [("Content-Range", "bytes */\(size)")])
    }

    static func badSignature() -> Problem {
        Problem(status: 403, code: "invalid_signature", title: "Forbidden",
                detail: "This signed URL is invalid or has expired; ask for a new one.")
    }

    static func bulkMissing(_ ids: [UUID]) -> Problem {
        Problem(status: 404, code: "not_found", title: "Not Found",
                detail: "Nothing was changed: these assets do not exist or are not yours: "
                    + ids.prefix(20).map { $0.lowercasedString }.joined(separator: ", "),
                errors: ids.prefix(Problem.maximumFieldErrors).map {
                    FieldError(field: "ids", code: "not_found", message: $0.lowercasedString)
                })
    }
}
