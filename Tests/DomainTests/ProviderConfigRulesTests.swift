import Domain
import Foundation
import XCTest

/// `PUT /v1/provider-configs/{provider}` bodies, and naming the scope that refused a reservation.
final class ProviderConfigRulesTests: XCTestCase {
    private let openai = ProviderCapabilities(provider: .openai, models: [
        ModelCapability(id: "gpt-4o-mini", kind: .text, parameters: []),
        ModelCapability(id: "gpt-image-1", kind: .image, parameters: []),
    ])

    func testAnEmptyBodyGivesTheDefaults() throws {
        XCTAssertEqual(try ProviderConfigRules.settings([:], for: openai), ProviderConfigSettings())
    }

    func testAFullBodyIsRead() throws {
        let settings = try ProviderConfigRules.settings([
            "enabled": .bool(false), "priority": .int(3), "requests_per_minute": .int(120), "monthly_budget": .string("25.50"),
            "default_models": .object(["text": .string("gpt-4o-mini"), "image": .string("gpt-image-1")]),
        ], for: openai)
        XCTAssertEqual(settings, ProviderConfigSettings(enabled: false, priority: 3, requestsPerMinute: 120, monthlyBudget: try Money(parsing: "25.50"),
                                                        defaultModels: [.text: "gpt-4o-mini", .image: "gpt-image-1"]))
        let cleared = try ProviderConfigRules.settings(["requests_per_minute": .null, "monthly_budget": .null, "default_models": .null], for: openai)
        XCTAssertEqual(cleared, ProviderConfigSettings())
    }

    func testEveryBadMemberIsReportedByField() {
        XCTAssertThrowsError(try ProviderConfigRules.settings([
            "enabled": .string("yes"), "priority": .int(1001), "requests_per_minute": .int(0), "monthly_budget": .int(5),
            "default_models": .object(["text": .string("claude"), "smell": .string("x"), "image": .int(1)]),
        ], for: openai)) { error in
            guard case DomainError.validation(let errors) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(errors.map(\.field), ["enabled", "priority", "requests_per_minute", "monthly_budget",
                                                 "default_models.image", "default_models.smell", "default_models.text"])
            XCTAssertEqual(errors.map(\.code), ["invalid_type", "invalid_value", "invalid_value", "invalid_type",
                                                "invalid_type", "unknown_kind", "unknown_model"])
        }
    }

    func testBoundsAndMoneyRules() {
        let refused: [(WireJSONObject, String)] = [
            (["priority": .int(-1)], "priority"), (["priority": .number(String(Int64.max))], "priority"),
            (["priority": .number("5.0")], "priority"), (["requests_per_minute": .int(100_001)], "requests_per_minute"),
            (["monthly_budget": .string("-1")], "monthly_budget"), (["monthly_budget": .string("1.00000000001")], "monthly_budget"),
            (["default_models": .array([])], "default_models"),
        ]
        for (body, field) in refused {
            XCTAssertThrowsError(try ProviderConfigRules.settings(body, for: openai)) { error in
                guard case DomainError.validation(let errors) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(errors.map(\.field), [field])
            }
        }
        XCTAssertEqual(try ProviderConfigRules.settings(["priority": .int(0), "requests_per_minute": .int(100_000)], for: openai).priority, 0)
    }

    func testTheRefusingScopeIsTheFirstWithoutRoomInProjectProviderUserOrder() throws {
        let money = { (text: String) throws -> Money in try Money(parsing: text) }
        let scopes = [
            ScopeFigures(scope: .project, entryID: nil, limit: nil, spent: .zero, reserved: .zero, fits: true),
            ScopeFigures(scope: .user, entryID: nil, limit: try money("10"), spent: try money("9"), reserved: try money("0.5"), fits: false),
            ScopeFigures(scope: .provider(.fal), entryID: nil, limit: try money("2"), spent: try money("1"), reserved: .zero, fits: false),
        ]
        let refused = ScopedReservation(admitted: false, scopes: scopes, amount: try money("1.25"))
        XCTAssertEqual(refused.shortfall, BudgetShortfall(scope: .provider(.fal), limit: try money("2"), spent: try money("1"),
                                                          reserved: .zero, shortfall: try money("0.25")))
        XCTAssertNil(ScopedReservation(admitted: true, scopes: scopes, amount: try money("1")).shortfall)
        XCTAssertEqual(BudgetScope(ledgerName: "provider:fal"), .provider(.fal))
        XCTAssertEqual(BudgetScope(ledgerName: "user"), .user)
        XCTAssertNil(BudgetScope(ledgerName: "provider:nope"))
        XCTAssertEqual(BudgetScope.provider(.veo).description, "provider:veo")
    }
}
