/// What a canceled provider task (a video or queued image job) is charged, from what the cancel at
/// the provider came to and what each provider documents about billing (`providers.md`):
///
/// - Runway charges only succeeded tasks (failed ones are refunded): a task its cancel stopped
///   (`DELETE /v1/tasks/{id}` of a pending, throttled or running task) costs nothing.
/// - A task the provider took off its queue before it started (FAL's cancel answer `OK`) never
///   runs and costs nothing.
/// - FAL charges only successful outputs, but a request a runner already has is only signalled
///   to stop (`CANCELLATION_REQUESTED`): the app may run on, and it may be billed, whatever the
///   last poll said (a poll is up to 5 s old).
/// - Veo (the Gemini API) has no cancel: the operation runs on and its seconds are billed.
/// - The local provider costs nothing.
///
/// When the provider may have billed (no cancel, a cancel that failed or came too late, a started
/// FAL request) the outcome is unknown to the ledger, and the rule of every unknown outcome
/// applies: the reserved estimate is charged (`outcome_unknown`, `estimated`), an upper bound of
/// what the provider can bill, so no budget is overrun by work the ledger missed. (A cancel that
/// came too late is first followed by one poll of the task, whose actual result, when it gives
/// one, is charged instead: `GenerationRunner`.)
public enum CanceledTaskCharge: Sendable, Equatable {
    /// The provider documents no charge for it: the reservation is released.
    case nothing
    /// The provider may have billed it: the reserved estimate is charged.
    case estimate

    /// `cancel`: what the provider's cancel answered (nil: the call failed or was not made).
    public static func after(_ cancel: CancelOutcome?, provider: ProviderID) -> CanceledTaskCharge {
        if provider == .local { return .nothing }
        switch cancel {
        case .removedFromQueue: return .nothing
        case .cancelled: return provider == .runway ? .nothing : .estimate
        case .stopRequested, .alreadyFinished, .notSupported, nil: return .estimate
        }
    }
}
