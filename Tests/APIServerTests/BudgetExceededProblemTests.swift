@testable import APIServer
import Domain
import Foundation
import XCTest

final class BudgetExceededProblemTests: XCTestCase {
    func testTheProblemNamesTheScopeItsLimitAndTheShortfall() throws {
        let money = { (text: String) throws -> Money in try Money(parsing: text) }
        let problem = Problem.budgetExceeded(BudgetShortfall(scope: .provider(.fal), limit: try money("10.00"), spent: try money("9.50"),
                                                             reserved: try money("0.25"), shortfall: try money("0.75")))
        XCTAssertEqual(problem.status, 402)
        XCTAssertEqual(problem.code, "budget_exceeded")
        XCTAssertEqual(problem.detail, "Your monthly budget for fal.ai (scope provider:fal) of 10.00 USD is short by 0.75 USD "
                           + "for this generation (spent 9.50, reserved 0.25).")
        let user = Problem.budgetExceeded(BudgetShortfall(scope: .user, limit: .zero, spent: .zero, reserved: .zero, shortfall: try money("1")))
        XCTAssertTrue(user.detail.hasPrefix("Your monthly limit (scope user) of 0.00 USD is short by 1.00 USD"), user.detail)
    }
}
