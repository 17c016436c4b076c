import Domain
import Foundation

extension HTTPRequest {
    /// Decodes the JSON body strictly, for every operation that takes one:
    /// - not JSON, not UTF-8, nested deeper than 64 levels, a key given twice, or not an object → 400 `bad_json`;
    /// - a value of the wrong JSON type, a number that does not fit its field, a missing required
    ///   field, or text containing U+0000 → 422 `validation_failed`, one error per field, named by
    ///   its wire path (`parameters.n`);
    /// - a member the operation does not read → 422 `unknown_field` naming each one with its path,
    ///   because a typo (`params` for `parameters`) would otherwise quietly change the answer.
    ///
    /// Members are matched by their snake_case wire names only (`project_id`, never `projectId`).
    func decodeBody<T: Decodable>(_ type: T.Type) throws -> T {
        guard !body.isEmpty else { throw Problem.badJSON("The request needs a JSON body.") }
        let tree: WireJSON
        do {
            tree = try BodyJSONParser.parse(body)
        } catch {
            throw Problem.badJSON(error.description)
        }
        guard case .object = tree else { throw Problem.badJSON("The body must be a JSON object.") }
        let nulCharacters = StrictBodyDecoder.pathsWithNUL(in: tree)
        guard nulCharacters.isEmpty else {
            throw Problem.validation(nulCharacters.prefix(Problem.maximumFieldErrors).map {
                FieldError(field: $0.isEmpty ? "body" : BodyJSONParser.printable($0), code: "invalid_characters",
                           message: "Text must not contain NUL (U+0000).")
            })
        }
        let ledger = StrictBodyDecoder.Ledger()
        let value: T
        do {
            value = try StrictBodyDecoder(value: tree, codingPath: [], ledger: ledger).decodeValue(T.self)
        } catch let problem as StrictBodyDecoder.FieldProblem {
            throw Problem.validation([problem.fieldError])
        } catch let error as DecodingError {
            throw Problem.validation([StrictBodyDecoder.fieldError(for: error)])
        }
        for member in Self.clientMembersIgnored[path] ?? [] { ledger.wholesale.insert(member) }
        let unknown = ledger.unknownPaths(in: tree)
        guard unknown.isEmpty else { throw Problem.unknownFields(unknown) }
        return value
    }
}

extension HTTPRequest {
    /// Top-level members that Supabase's auth clients (supabase-js / gotrue-js) send on every call
    /// and GoTrue accepts, which this server does not use: `gotrue_meta_security` (captcha; none is
    /// configured here) and `code_challenge`/`code_challenge_method` (PKCE; not offered). Refusing
    /// them would break sign-up and sign-in from those clients, so they are read and ignored;
    /// `openapi.yaml` documents them as such. Anything else unknown is still refused.
    static let clientMembersIgnored: [String: Set<String>] = [
        "/auth/v1/signup": ["gotrue_meta_security", "code_challenge", "code_challenge_method"],
        "/auth/v1/token": ["gotrue_meta_security"],
        "/auth/v1/user": ["code_challenge", "code_challenge_method"],
    ]
}

extension Problem {
    /// At most this many per-field errors are listed, so a body of 10,000 stray keys cannot make
    /// an answer (and its log line) as large as itself.
    static let maximumFieldErrors = 20

    /// 422 `unknown_field`: members this operation does not read, each named with its path.
    static func unknownFields(_ paths: [String]) -> Problem {
        let shown = paths.prefix(maximumFieldErrors).map(BodyJSONParser.printable)
        let more = paths.count > shown.count ? " and \(paths.count - shown.count) more" : ""
        return Problem(status: 422, code: "unknown_field", title: "Unknown Field",
                       detail: "This operation does not accept " + shown.joined(separator: ", ") + more + ".",
                       errors: shown.map { FieldError(field: $0, code: "unknown_field", message: "\($0) is not a field of this request.") })
    }
}

/// A `Decoder` over `WireJSON` that names fields by their wire names and remembers every member
/// the decoded type asked for, so the members it never asked for can be reported afterwards.
struct StrictBodyDecoder: Decoder {
    /// The members asked for, by path. A class because every nested container shares it.
    final class Ledger {
        var asked: Set<String> = []
        /// Paths decoded as free-form JSON (`WireJSON`, `WireJSONObject`): everything under them is read.
        var wholesale: Set<String> = []

        func unknownPaths(in tree: WireJSON) -> [String] {
            var unknown: [String] = []
            collect(tree, path: "", into: &unknown)
            return unknown
        }

        private func collect(_ node: WireJSON, path: String, into unknown: inout [String]) {
            guard !wholesale.contains(path) else { return }
            switch node {
            case .object(let members):
                for key in members.keys.sorted() {
                    let child = StrictBodyDecoder.join(path, key)
                    if wholesale.contains(child) { continue }
                    if asked.contains(child), let value = members[key] {
                        collect(value, path: child, into: &unknown)
                    } else {
                        unknown.append(child)
                    }
                }
            case .array(let elements):
                for (index, element) in elements.enumerated() {
                    collect(element, path: path + "[\(index)]", into: &unknown)
                }
            default:
                return
            }
        }
    }

    /// A field's value is unusable; thrown instead of `DecodingError` so the message speaks JSON, not Swift.
    struct FieldProblem: Error {
        let path: String
        let code: String
        let message: String

        var fieldError: FieldError {
            let field = path.isEmpty ? "body" : BodyJSONParser.printable(path)
            return FieldError(field: field, code: code, message: "\(field) \(message)")
        }
    }

    /// A coding key that already holds the wire name.
    struct WireKey: CodingKey {
        let stringValue: String
        let intValue: Int?

        init(stringValue: String) {
            self.stringValue = stringValue
            intValue = nil
        }

        init(intValue: Int) {
            stringValue = "[\(intValue)]"
            self.intValue = intValue
        }

        init(_ name: String) {
            self.init(stringValue: name)
        }
    }

    let value: WireJSON
    let codingPath: [any CodingKey]
    let ledger: Ledger
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    var path: String { Self.path(codingPath) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch("an object") }
        return KeyedDecodingContainer(Keyed<Key>(members: members, decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch("an array") }
        return Unkeyed(elements: elements, decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        Single(decoder: self)
    }

    func child(_ value: WireJSON, key: any CodingKey) -> StrictBodyDecoder {
        StrictBodyDecoder(value: value, codingPath: codingPath + [key], ledger: ledger)
    }

    func mismatch(_ expected: String) -> FieldProblem {
        FieldProblem(path: path, code: "invalid_type", message: "must be \(expected), not \(value.typeName).")
    }

    /// Decodes `T` here, with exact handling of the types whose own `Decodable` conformance
    /// would read numbers loosely or keys through the snake_case mapping.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let exact = try exactValue(T.self) as? T { return exact }
        return try T(from: self)
    }

    /// The value for the types read here rather than through their own conformance; nil for any other type.
    private func exactValue(_ type: Any.Type) throws -> Any? {
        switch type {
        case is String.Type: return try string()
        case is Bool.Type: return try bool()
        case is Int.Type: return try integer(Int.self)
        case is Int64.Type: return try integer(Int64.self)
        case is Int32.Type: return try integer(Int32.self)
        case is Int16.Type: return try integer(Int16.self)
        case is Int8.Type: return try integer(Int8.self)
        case is UInt16.Type: return try integer(UInt16.self)
        case is UInt8.Type: return try integer(UInt8.self)
        case is Float.Type:
            let number = Float(try double())
            guard number.isFinite else {
                throw FieldProblem(path: path, code: "out_of_range", message: "must be a finite 32-bit number.")
            }
            return number
        case is UInt.Type: return try integer(UInt.self)
        case is UInt64.Type: return try integer(UInt64.self)
        case is UInt32.Type: return try integer(UInt32.self)
        case is Double.Type: return try double()
        case is Decimal.Type: return try decimal()
        case is WireJSON.Type:
            try checkFreeForm(value)
            ledger.wholesale.insert(path)
            return value
        case is WireJSONObject.Type:
            guard case .object(let members) = value else { throw mismatch("an object") }
            try checkFreeForm(value)
            ledger.wholesale.insert(path)
            return members
        default:
            return nil
        }
    }

    func string() throws -> String {
        guard case .string(let text) = value else { throw mismatch("a string") }
        return text
    }

    func bool() throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch("true or false") }
        return flag
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        // The field's own range is the domain's to check and say; here only what the type can hold.
        let range = I.bitWidth >= 64 ? "an integer of at most 64 bits" : "an integer from \(I.min) to \(I.max)"
        guard case .number(let text) = value else { throw mismatch(range) }
        if let number = I(text) { return number }
        // JSON Schema counts `134080.0` and `1e2` as integers, so an integral value written with a
        // fraction or exponent is read exactly; a fraction, or a value outside the type, is
        // refused, never rounded or wrapped.
        if text.utf8.count <= 40, let exact = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), !exact.isNaN {
            var whole = Decimal()
            var copy = exact
            NSDecimalRound(&whole, &copy, 0, .plain)
            if whole == exact, let number = I(whole.description) { return number }
        }
        throw FieldProblem(path: path, code: "out_of_range", message: "must be \(range).")
    }

    func double() throws -> Double {
        guard case .number(let text) = value else { throw mismatch("a number") }
        guard let number = Double(text), number.isFinite else {
            throw FieldProblem(path: path, code: "out_of_range", message: "must be a finite number.")
        }
        return number
    }

    func decimal() throws -> Decimal {
        guard case .number(let text) = value else { throw mismatch("a number") }
        guard text.utf8.count <= 64, let number = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), number.isFinite else {
            throw FieldProblem(path: path, code: "out_of_range", message: "must be a number of at most 38 significant digits.")
        }
        return number
    }

    /// Free-form JSON, for fields that carry user data (metadata), is taken as sent; only a number
    /// that no `Double` can hold is refused (readers of it would turn it into infinity).
    func checkFreeForm(_ node: WireJSON, at path: String? = nil) throws {
        switch node {
        case .null, .bool, .string:
            return
        case .number(let text):
            guard let number = Double(text), number.isFinite else {
                throw FieldProblem(path: path ?? self.path, code: "out_of_range", message: "must be a finite number.")
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                try checkFreeForm(element, at: (path ?? self.path) + "[\(index)]")
            }
        case .object(let members):
            for (key, member) in members {
                try checkFreeForm(member, at: Self.join(path ?? self.path, key))
            }
        }
    }

    // MARK: - Paths and names

    static func path(_ codingPath: [any CodingKey]) -> String {
        var result = ""
        for key in codingPath {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result = join(result, key.stringValue)
            }
        }
        return result
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// Foundation's `convertToSnakeCase`: `maxCostUsd` → `max_cost_usd`, `URLValue` → `url_value`.
    static func wireName(_ swiftName: String) -> String {
        let characters = Array(swiftName)
        var result = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true) {
                    result.append("_")
                }
            }
            result += character.lowercased()
        }
        return result
    }

    /// Foundation's `convertFromSnakeCase`, for keys a type enumerates (`allKeys`).
    static func swiftName(_ wireName: String) -> String {
        let parts = wireName.split(separator: "_", omittingEmptySubsequences: true)
        guard let first = parts.first, !wireName.hasPrefix("_"), !wireName.hasSuffix("_") else { return wireName }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }.joined()
    }

    /// Paths of every string or key that holds U+0000, which PostgreSQL text cannot store.
    static func pathsWithNUL(in node: WireJSON, path: String = "") -> [String] {
        switch node {
        case .string(let text):
            return text.utf8.contains(0) ? [path] : []
        case .array(let elements):
            return elements.enumerated().flatMap { pathsWithNUL(in: $1, path: path + "[\($0)]") }
        case .object(let members):
            return members.keys.sorted().flatMap { key -> [String] in
                let child = join(path, key)
                if key.utf8.contains(0) { return [child] }
                return members[key].map { pathsWithNUL(in: $0, path: child) } ?? []
            }
        default:
            return []
        }
    }

    /// A `DecodingError` thrown by a type's own `init(from:)`, said without Swift type names.
    static func fieldError(for error: DecodingError) -> FieldError {
        func field(_ codingPath: [any CodingKey]) -> String {
            let text = path(codingPath)
            return text.isEmpty ? "body" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let name = field(context.codingPath + [key])
            return FieldError(field: name, code: "required", message: "\(name) is required.")
        case .valueNotFound(_, let context):
            let name = field(context.codingPath)
            return FieldError(field: name, code: "required", message: "\(name) must not be null.")
        case .typeMismatch(_, let context):
            let name = field(context.codingPath)
            return FieldError(field: name, code: "invalid_type", message: "\(name) has the wrong type.")
        case .dataCorrupted(let context):
            let name = field(context.codingPath)
            return FieldError(field: name, code: "invalid_value", message: "\(name) has a value that is not allowed.")
        @unknown default:
            return FieldError(field: "body", code: "invalid_value", message: "The body does not have the expected shape.")
        }
    }
}
