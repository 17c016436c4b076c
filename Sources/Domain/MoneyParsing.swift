import Foundation

/// Why a text is not an acceptable amount. `code` is the stable, client-visible name.
public enum MoneyFormatError: Error, Equatable, Sendable {
    case empty
    /// Anything outside `-?digits[.digits]`: spaces, `+`, commas, `.5`, `5.`, leading zeros.
    case malformed
    /// `1e3`, `2.5E-6`: the API wants plain decimals so that what is stored is what was sent.
    case exponentNotAllowed
    case notANumber
    case tooManyDecimals(maximum: Int)
    case negativeNotAllowed
    /// More than 18 integer digits: no budget or price is that large, so it is a mistake.
    case outOfRange

    public var code: String {
        switch self {
        case .empty, .malformed: "invalid_amount"
        case .exponentNotAllowed: "amount_exponent_not_allowed"
        case .notANumber: "amount_not_a_number"
        case .tooManyDecimals: "amount_too_many_decimals"
        case .negativeNotAllowed: "amount_negative"
        case .outOfRange: "amount_out_of_range"
        }
    }

    public var message: String {
        switch self {
        case .empty: "Amount is empty."
        case .malformed: "Amount must be a plain decimal string such as \"12.50\"."
        case .exponentNotAllowed: "Amount must not use exponent notation."
        case .notANumber: "Amount must be a finite number."
        case .tooManyDecimals(let maximum): "Amount may have at most \(maximum) decimal places."
        case .negativeNotAllowed: "Amount must not be negative."
        case .outOfRange: "Amount is too large."
        }
    }

    public func fieldError(_ field: String) -> FieldError {
        FieldError(field: field, code: code, message: message)
    }
}

extension Money {
    static let maximumIntegerDigits = 18

    /// Strict parser for amounts sent by clients and stored in catalogs:
    /// `-?(0|[1-9][0-9]*)(\.[0-9]{1,10})?`. Exponents, NaN, infinities, signs other than a
    /// leading `-`, whitespace and locale separators are all refused.
    public init(parsing text: String, allowNegative: Bool = false) throws(MoneyFormatError) {
        let literal = try DecimalLiteral(strict: text)
        if literal.negative && !allowNegative && !literal.isZero { throw .negativeNotAllowed }
        guard literal.fractionDigits.count <= Self.maximumScale else {
            throw .tooManyDecimals(maximum: Self.maximumScale)
        }
        self.init(uncheckedAmount: literal.decimal)
    }

    /// Parses a JSON number as it appears in a provider's body or in LiteLLM's price file
    /// (`0.0000047`, `2.5e-06`) from its source text, so no `Double` is involved. The result
    /// must still fit 10 decimals.
    public init(jsonNumberLiteral text: String, allowNegative: Bool = false) throws(MoneyFormatError) {
        let value = try DecimalLiteral.parseJSONNumber(text)
        if value < 0 && !allowNegative { throw .negativeNotAllowed }
        try self.init(exactly: value)
    }
}

/// A decimal literal split into its digits, so the `Decimal` is assembled from integers.
struct DecimalLiteral {
    var negative: Bool
    var integerDigits: Substring
    var fractionDigits: Substring

    var isZero: Bool { (integerDigits + fractionDigits).allSatisfy { $0 == "0" } }

    init(strict text: String) throws(MoneyFormatError) {
        if let plain = Self(plain: text) {
            self = plain
            return
        }
        guard !text.isEmpty else { throw .empty }
        let lowered = text.lowercased()
        if ["nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"].contains(lowered) {
            throw .notANumber
        }
        var body = Substring(text)
        negative = body.first == "-"
        if negative { body = body.dropFirst() }
        if body.contains(where: { $0 == "e" || $0 == "E" }) && body.first?.isASCIIDigit == true {
            throw .exponentNotAllowed
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        integerDigits = parts[0]
        fractionDigits = parts.count > 1 ? parts[1] : ""
        guard !integerDigits.isEmpty, integerDigits.allSatisfy(\.isASCIIDigit) else { throw .malformed }
        guard parts.count == 1 || !fractionDigits.isEmpty, fractionDigits.allSatisfy(\.isASCIIDigit) else {
            throw .malformed
        }
        guard integerDigits == "0" || integerDigits.first != "0" else { throw .malformed }
        guard integerDigits.count <= Money.maximumIntegerDigits else { throw .outOfRange }
    }

    /// The common well-formed text (`[-]digits[.digits]`, no leading zero, at most
    /// `Money.maximumIntegerDigits` integer digits) split from its bytes, where the checks below
    /// walk `Character`s and lowercase a copy; nil for any other text, which those checks then judge.
    /// The parts are the same substrings they take, so the value is built the same way.
    private init?(plain text: String) {
        let bytes = text.utf8
        var index = bytes.startIndex
        let negative = index < bytes.endIndex && bytes[index] == UInt8(ascii: "-")
        if negative { index = bytes.index(after: index) }
        let integerStart = index
        while index < bytes.endIndex, bytes[index] &- UInt8(ascii: "0") < 10 { index = bytes.index(after: index) }
        let integerEnd = index
        let integerCount = bytes.distance(from: integerStart, to: integerEnd)
        guard integerCount > 0, integerCount <= Money.maximumIntegerDigits,
              integerCount == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return nil }
        var fractionStart = integerEnd
        if index < bytes.endIndex {
            guard bytes[index] == UInt8(ascii: ".") else { return nil }
            index = bytes.index(after: index)
            fractionStart = index
            while index < bytes.endIndex, bytes[index] &- UInt8(ascii: "0") < 10 { index = bytes.index(after: index) }
            guard index == bytes.endIndex, index > fractionStart else { return nil }
        }
        self.negative = negative
        integerDigits = Substring(text.utf8[integerStart..<integerEnd])
        fractionDigits = Substring(text.utf8[fractionStart..<index])
    }

    var decimal: Decimal {
        let significand = Decimal(digits: integerDigits + fractionDigits)
        // A "negative zero" Decimal is Foundation's NaN encoding, so zero is always positive.
        return Decimal(sign: negative && !isZero ? .minus : .plus, exponent: -fractionDigits.count, significand: significand)
    }

    /// JSON's number grammar (RFC 8259 §6), exponent included, evaluated exactly.
    static func parseJSONNumber(_ text: String) throws(MoneyFormatError) -> Decimal {
        var body = Substring(text)
        guard !body.isEmpty else { throw .empty }
        var exponent = 0
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var exponentText = body[body.index(after: e)...]
            let exponentNegative = exponentText.first == "-"
            if exponentText.first == "-" || exponentText.first == "+" { exponentText = exponentText.dropFirst() }
            guard exponentText.count <= 4, exponentText.allSatisfy(\.isASCIIDigit), let magnitude = Int(exponentText) else {
                throw .malformed
            }
            exponent = exponentNegative ? -magnitude : magnitude
            body = body[..<e]
        }
        let mantissa = try DecimalLiteral(strict: String(body))
        let digits = (mantissa.integerDigits + mantissa.fractionDigits).drop(while: { $0 == "0" })
        guard digits.count <= 38 else { throw .outOfRange }
        guard (-120...120).contains(exponent - mantissa.fractionDigits.count) else { throw .outOfRange }
        return Decimal(
            sign: mantissa.negative && !digits.isEmpty ? .minus : .plus,
            exponent: exponent - mantissa.fractionDigits.count,
            significand: Decimal(digits: digits)
        )
    }
}

extension Decimal {
    /// Builds an integer from ASCII digits in 18-digit chunks: every step is exact integer
    /// arithmetic, which `Decimal(string:)` does not promise (it also accepts "12abc" as 12).
    init<S: StringProtocol>(digits: S) {
        var value = Decimal(0)
        var chunk: UInt64 = 0
        var chunkLength = 0
        for character in digits.utf8 {
            chunk = chunk * 10 + UInt64(character - UInt8(ascii: "0"))
            chunkLength += 1
            if chunkLength == 18 {
                value = value * Decimal(sign: .plus, exponent: 18, significand: 1) + Decimal(chunk)
                chunk = 0
                chunkLength = 0
            }
        }
        if chunkLength > 0 {
            value = value * Decimal(sign: .plus, exponent: chunkLength, significand: 1) + Decimal(chunk)
        }
        self = value
    }
}

extension Character {
    var isASCIIDigit: Bool {
        guard let ascii = asciiValue else { return false }
        return ascii >= UInt8(ascii: "0") && ascii <= UInt8(ascii: "9")
    }
}
