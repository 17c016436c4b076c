import Domain
import Foundation

/// An `AttemptReport` in the shapes of migration 135: the `app_engine.attempt_report` value the
/// engine functions take (null for none), and the arguments of `app_engine.record_health`.
enum AttemptReportSQL {
    static func value(_ report: AttemptReport?) -> SQL {
        guard let report else { return "null::app_engine.attempt_report" }
        let remaining = report.rateLimit?.remainingRequests.map(Double.init)
        return """
            row(\(healthArguments(report)), \(report.rateLimit != nil), \(remaining)::float8,
                \(report.rateLimit?.blockedUntil)::timestamptz)::app_engine.attempt_report
            """
    }

    /// provider, time, outcome (success and latency, or code and retryable) and the policy's numbers.
    static func healthArguments(_ report: AttemptReport) -> SQL {
        let succeeded: Bool
        var latency: Double?
        var code: String?
        var retryable: Bool?
        switch report.outcome {
        case .success(let seconds):
            succeeded = true
            latency = max(0, seconds.isFinite ? seconds * 1000 : 0)
        case .failure(let failure, let retries):
            succeeded = false
            code = String(failure.prefix(ProviderHealthState.maximumCodeLength))
            retryable = retries
        }
        return """
            \(report.provider.rawValue), \(report.at)::timestamptz, \(succeeded), \(latency)::float8, \(code), \(retryable),
            \(report.policy.failureThreshold)::integer, \(report.policy.cooldown)::float8, \(report.policy.latencyWeight)::float8
            """
    }
}
