import Domain
import Foundation

/// The runner's early answers (`EarlyAnswers`) for the chat surface: a chat completion waiting
/// for its generation (`FinishedGenerations.expect(_:beforeSettlement: true)`) is woken with the
/// answer as soon as the provider's answer is priced, while the settlement is written; the
/// settlement is counted in flight for its user until then, so that user's reads wait for it.
struct EarlyChatAnswers: EarlyAnswers {
    let finished: FinishedGenerations
    let settlements: SettlementsInFlight
    let board: SignalBoard<UUID>

    func answer(_ detail: GenerationDetail) -> Bool {
        let generation = detail.generation
        // Counted before the answer can leave, so whatever the client reads after it waits.
        settlements.begin(generation.id, user: generation.userID)
        guard finished.offerEarly(detail) else {
            settlements.end(generation.id, user: generation.userID)
            return false
        }
        // The waiting request answers on this thread, before the settlement starts: handing it to
        // another thread cost more than building the answer here (it waits for a core the
        // settlement's backend and the next request compete for). See ChatHandlers for what the
        // answer must not wait for on this thread.
        board.signal(generation.id)
        return true
    }

    func settled(_ generation: GenerationRecord) {
        settlements.end(generation.id, user: generation.userID)
    }
}
