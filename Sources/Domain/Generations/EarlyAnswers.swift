import Foundation

/// Where a succeeded text generation's answer may go before its settlement is written (the chat
/// surface's): its caller is answered while the database settles it, and that user's reads wait
/// for the settlement (`SettlementsInFlight` in the server). The budget stays safe meanwhile: the
/// reservation, at least the cost for a priced answer, is held until the settlement replaces it.
public protocol EarlyAnswers: Sendable {
    /// Offers `detail`, the generation as its settlement will store it. True: someone took it, and
    /// `settled` follows once the settlement is written or given up; false: nobody waits for it
    /// that way, and nothing else is called.
    func answer(_ detail: GenerationDetail) -> Bool
    /// The settlement of an answer `answer` took is written (or failed after its retries).
    func settled(_ generation: GenerationRecord)
}

extension GenerationRecord {
    /// This running generation as `completion` ends it when it succeeds: the fields its answer is
    /// built from as the settlement stores them (status, provider and model, cost and its lines,
    /// text and finish reason); attempts and assets are not part of it.
    public func settled(by completion: GenerationCompletion, at now: Date) -> GenerationRecord {
        GenerationRecord(
            id: id, userID: userID, projectID: projectID, kind: kind, prompt: prompt, settings: settings,
            requestedProvider: requestedProvider, requestedModel: requestedModel, provider: completion.provider, model: completion.model,
            candidates: candidates, status: completion.status, estimate: estimate, actualCost: completion.cost,
            providerReportedCost: completion.providerReportedCost, costBreakdown: completion.breakdown, maxCost: maxCost,
            pricingVersion: pricingVersion, errorCode: completion.errorCode, errorMessage: completion.errorMessage,
            outputText: completion.outputText, providerTask: nil, cancelRequested: cancelRequested, createdAt: createdAt,
            updatedAt: now, startedAt: startedAt ?? now, finishedAt: now, submitting: nil, costStatus: completion.costStatus,
            finishReason: completion.finishReason, usageCountedWith: completion.usageCountedWith)
    }
}
