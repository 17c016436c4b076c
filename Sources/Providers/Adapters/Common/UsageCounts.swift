import Domain

/// A provider's usage object read count by count (`WireJSON.count`), each named by its path
/// (`prompt_tokens_details.cached_tokens`): a count that is required and absent, or present and
/// out of range, is 0 here and named in `unreported` (`NormalisedUsage.unreported`), so the answer
/// is charged its estimate instead of that 0.
struct UsageCounts {
    let usage: WireJSON?
    private(set) var unreported: [String] = []

    init(_ usage: WireJSON?) {
        self.usage = usage
    }

    mutating func count(_ path: String, required: Bool = false) -> Int {
        guard let value = path.split(separator: ".").reduce(usage, { $0?[String($1)] }) else {
            if required { unreported.append(path) }
            return 0
        }
        guard let count = value.count else {
            unreported.append(path)
            return 0
        }
        return count
    }

    /// `unreported` as `NormalisedUsage` keeps it: nil when every count was there.
    var unreportedOrNil: [String]? { unreported.isEmpty ? nil : unreported }
}
