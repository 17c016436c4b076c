import Domain

/// The paging that the generation and asset listings read alike: `limit` (1 to 100) and the
/// `cursor` a previous page issued.
enum ListPaging {
    /// The `limit` parameter, nil when absent; out of range adds a field error.
    static func limit(_ query: [String: String], errors: inout [FieldError]) -> Int? {
        guard let value = query["limit"] else { return nil }
        if let limit = Int(value), (1...100).contains(limit) { return limit }
        errors.append(FieldError(field: "limit", code: "out_of_range", message: "limit must be 1 to 100"))
        return nil
    }

    /// The `cursor` parameter, nil when absent; one this server did not issue is 400 `bad_cursor`.
    static func cursor(_ query: [String: String]) throws -> GenerationCursor? {
        guard let value = query["cursor"] else { return nil }
        guard let cursor = GenerationCursor(token: value) else {
            throw Problem(status: 400, code: "bad_cursor", title: "Bad Request",
                          detail: "The cursor is not one this listing issued; start again without it.")
        }
        return cursor
    }
}
