import Domain
import Foundation
import XCTest

/// The health policy: streaks, the circuit's three states and their transitions, the latency average.
final class ProviderHealthStateTests: XCTestCase {
    private let policy = HealthPolicy(failureThreshold: 3, cooldown: 30, latencyWeight: 0.5)
    private let start = Date(timeIntervalSince1970: 1_800_000_000)

    private func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    private func failing(_ count: Int, from health: ProviderHealthState = .unknown, at seconds: TimeInterval = 0) -> ProviderHealthState {
        (0..<count).reduce(health) { state, _ in state.recordingFailure(code: "timeout", retryable: true, at: at(seconds), policy: policy) }
    }

    func testAnUnknownProviderIsHealthyAndClosed() {
        XCTAssertEqual(ProviderHealthState.unknown.status(at: start), .healthy)
        XCTAssertEqual(ProviderHealthState.unknown.circuit(at: start), .closed)
        XCTAssertTrue(ProviderHealthState.unknown.admitsAttempt(at: start))
    }

    func testRetryableFailuresBelowTheThresholdDegradeButKeepTheCircuitClosed() {
        let health = failing(2)
        XCTAssertEqual(health.consecutiveFailures, 2)
        XCTAssertEqual(health.circuit(at: start), .closed)
        XCTAssertEqual(health.status(at: start), .degraded)
        XCTAssertEqual(health.lastErrorCode, "timeout")
        XCTAssertEqual(health.lastErrorAt, start)
        XCTAssertNil(health.reopenAt)
    }

    func testTheThresholdthFailureOpensTheCircuitForTheCooldown() {
        let health = failing(3)
        XCTAssertEqual(health.reopenAt, at(30))
        XCTAssertEqual(health.circuit(at: at(29.999)), .open)
        XCTAssertEqual(health.status(at: at(29.999)), .down)
        XCTAssertFalse(health.admitsAttempt(at: at(29.999)))
        XCTAssertEqual(health.circuit(at: at(30)), .halfOpen, "half-open from the reopen time on")
        XCTAssertEqual(health.status(at: at(30)), .degraded)
        XCTAssertTrue(health.admitsAttempt(at: at(30)))
    }

    func testAFailureWhileOpenKeepsTheReopenTime() {
        let health = failing(1, from: failing(3), at: 10)
        XCTAssertEqual(health.consecutiveFailures, 4)
        XCTAssertEqual(health.reopenAt, at(30), "an attempt that started before the circuit opened does not extend it")
    }

    func testAFailedHalfOpenTrialReopensFromItsTime() {
        let health = failing(1, from: failing(3), at: 45)
        XCTAssertEqual(health.reopenAt, at(75))
        XCTAssertEqual(health.circuit(at: at(46)), .open)
    }

    func testASuccessClosesTheCircuitAndClearsTheStreak() {
        let health = failing(3).recordingSuccess(latency: 0.1, at: at(31), policy: policy)
        XCTAssertEqual(health.circuit(at: at(31)), .closed)
        XCTAssertEqual(health.consecutiveFailures, 0)
        XCTAssertEqual(health.status(at: at(31)), .healthy)
        XCTAssertEqual(health.lastSuccessAt, at(31))
        XCTAssertEqual(health.lastErrorCode, "timeout", "the last error stays visible")
        XCTAssertNil(health.reopenAt)
    }

    func testANonRetryableFailureChangesNeitherStreakNorCircuit() {
        let closed = failing(2).recordingFailure(code: "bad_request", retryable: false, at: at(1), policy: policy)
        XCTAssertEqual(closed.consecutiveFailures, 2)
        XCTAssertNil(closed.reopenAt)
        XCTAssertEqual(closed.lastErrorCode, "bad_request")
        XCTAssertEqual(closed.lastErrorAt, at(1))
        let open = failing(3).recordingFailure(code: "content_refused", retryable: false, at: at(40), policy: policy)
        XCTAssertEqual(open.reopenAt, at(30), "a refusal on a half-open trial neither closes nor reopens it")
        XCTAssertEqual(open.consecutiveFailures, 3)
    }

    func testLatencyIsAnExponentialMovingAverageOfSuccesses() throws {
        let first = ProviderHealthState.unknown.recordingSuccess(latency: 0.2, at: start, policy: policy)
        XCTAssertEqual(try XCTUnwrap(first.latencyMilliseconds), 200, accuracy: 1e-9, "the first sample is the average")
        let second = first.recordingSuccess(latency: 0.6, at: at(1), policy: policy)
        XCTAssertEqual(try XCTUnwrap(second.latencyMilliseconds), 400, accuracy: 1e-9)
        let afterFailure = second.recordingFailure(code: "timeout", retryable: true, at: at(2), policy: policy)
        XCTAssertEqual(afterFailure.latencyMilliseconds, second.latencyMilliseconds, "failures do not move it")
        let negative = ProviderHealthState.unknown.recordingSuccess(latency: -5, at: start, policy: policy)
        XCTAssertEqual(negative.latencyMilliseconds, 0, "a clock step backwards is not a negative latency")
    }

    func testAttemptOutcomeFollowsTheAdaptersRetryability() {
        XCTAssertEqual(AttemptOutcome(ProviderError(.providerDown, provider: .anthropic, message: "overloaded")),
                       .failure(code: "provider_down", retryable: true))
        XCTAssertEqual(AttemptOutcome(ProviderError(.badRequest, provider: .openai, message: "bad")),
                       .failure(code: "bad_request", retryable: false))
        XCTAssertEqual(AttemptOutcome(ProviderError(.quotaExhausted, provider: .openrouter, message: "pay", retryOverride: true)),
                       .failure(code: "quota_exhausted", retryable: true), "the provider's explicit word wins")
        XCTAssertEqual(ProviderHealthState.unknown.recording(.success(latency: 1), at: start, policy: policy),
                       ProviderHealthState.unknown.recordingSuccess(latency: 1, at: start, policy: policy))
    }

    func testLongCodesAreCutToTheColumnsBound() {
        let health = ProviderHealthState.unknown.recordingFailure(code: String(repeating: "x", count: 500), retryable: false, at: start)
        XCTAssertEqual(health.lastErrorCode?.count, ProviderHealthState.maximumCodeLength)
    }

    func testPolicyBoundsAreClamped() {
        let clamped = HealthPolicy(failureThreshold: 0, cooldown: -5, latencyWeight: 7)
        XCTAssertEqual(clamped.failureThreshold, 1)
        XCTAssertEqual(clamped.cooldown, 0)
        XCTAssertEqual(clamped.latencyWeight, 1)
    }

    func testOnlyAHalfOpenCircuitGivesATrialWhichHoldsItOpenMeanwhile() throws {
        XCTAssertNil(ProviderHealthState.unknown.claimingTrial(at: start, policy: policy), "closed: no trial needed")
        let open = failing(3)
        XCTAssertNil(open.claimingTrial(at: at(29), policy: policy), "open: none allowed")
        let trial = try XCTUnwrap(open.claimingTrial(at: at(31), policy: policy))
        XCTAssertEqual(trial.circuit(at: at(31)), .open, "nobody else is sent while the trial runs")
        XCTAssertNil(trial.claimingTrial(at: at(32), policy: policy), "a second trial is refused")
        XCTAssertEqual(trial.recordingSuccess(latency: 1, at: at(33), policy: policy).circuit(at: at(33)), .closed)
        XCTAssertEqual(trial.recordingFailure(code: "timeout", retryable: true, at: at(33), policy: policy).reopenAt, at(61),
                       "a failed trial leaves it open for the cooldown from the claim")
        XCTAssertEqual(trial.circuit(at: at(61)), .halfOpen, "a trial whose holder vanished half-opens again")
    }
}
