import Foundation

/// One quote's estimates by provider and model. The route planner asks for the estimate of each
/// option it weighs and the quote then shows each candidate's; an estimate (token count, price
/// lookups, decimal arithmetic) was a tenth of a chat completion's admission, made twice. Lives
/// for one quote only: the price list and the request are fixed within it.
final class QuoteEstimates: Sendable {
    private struct Key: Hashable {
        let provider: ProviderID
        let model: String
    }

    private let lock = NSLock()
    // Guarded by `lock`.
    nonisolated(unsafe) private var known: [Key: CostEstimate] = [:]

    func estimate(_ provider: ProviderID, _ model: String, _ make: () -> CostEstimate) -> CostEstimate {
        let key = Key(provider: provider, model: model)
        if let estimate = lock.withLock({ known[key] }) { return estimate }
        let estimate = make()
        lock.withLock { known[key] = estimate }
        return estimate
    }
}
