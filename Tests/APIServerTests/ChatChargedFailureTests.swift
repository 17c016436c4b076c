@testable import APIServer
import Domain
import Foundation
import XCTest

/// OpenAI's SDKs retry 408, 409, 429 and 5xx without an idempotency key, so a chat answer for a
/// generation that failed after something was charged must not be one of those.
final class ChatChargedFailureTests: XCTestCase {
    private func record(status: GenerationStatus, charged: Money?, code: String) -> GenerationRecord {
        GenerationRecord(id: UUID(), userID: UUID(), projectID: UUID(), kind: .text, prompt: "hi", settings: GenerationSettings(),
                         requestedProvider: .openai, requestedModel: "gpt-4o-mini", provider: .openai, model: "gpt-4o-mini",
                         candidates: [], status: status, estimate: Money.zero, actualCost: charged, providerReportedCost: nil,
                         costBreakdown: nil, maxCost: nil, pricingVersion: "v", errorCode: code, errorMessage: "It failed.",
                         outputText: nil, providerTask: nil, cancelRequested: false, createdAt: Date(), updatedAt: Date(),
                         startedAt: nil, finishedAt: nil, costStatus: charged == nil ? nil : "estimated")
    }

    func testAFailureThatWasChargedIsA422WithTheChargeNotAStatusClientsRetry() throws {
        let charged = try Money(parsing: "0.00001935")
        let failed = record(status: .failed, charged: charged, code: "outcome_unknown")
        let problem = ChatErrors.generationFailed(failed)
        XCTAssertEqual(problem.status, 422)
        XCTAssertEqual(problem.code, "outcome_unknown")
        XCTAssertTrue(problem.detail.contains("0.00001935 USD was charged"), problem.detail)
        XCTAssertFalse(problem.detail.contains("Nothing was charged"), problem.detail)
        XCTAssertEqual(problem.headers.first { $0.0 == "X-Cost-USD" }?.1, "0.00001935")
        XCTAssertEqual(problem.headers.first { $0.0 == "X-Generation-Id" }?.1, failed.id.uuidString.lowercased())
        XCTAssertEqual(ChatErrors.generationFailed(record(status: .canceled, charged: charged, code: "canceled")).status, 422)
    }

    func testAFailureThatChargedNothingStaysA502SayingSo() {
        for charged in [nil, Money.zero] {
            let problem = ChatErrors.generationFailed(record(status: .failed, charged: charged, code: "providers_exhausted"))
            XCTAssertEqual(problem.status, 502)
            XCTAssertTrue(problem.detail.hasSuffix("Nothing was charged."), problem.detail)
        }
    }
}
