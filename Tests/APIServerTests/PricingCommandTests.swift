import Foundation
import TestSupport
import XCTest

/// `apiserver pricing import [--replace] FILE`, run as an operator would.
final class PricingCommandTests: XCTestCase {
    private var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("apiserver").path
    }

    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(binary, arguments, environment: environment)
        let status = child.wait()
        return (status, child.output)
    }

    func testImportUpdatesByDefaultAndReplacesOnRequest() throws {
        let environment = [
            "DATABASE_URL": try TestPostgresCluster.shared.createDatabase(prefix: "pricingcli"),
            "APP_ENV": "development",
            "MIGRATIONS_DIR": TestServer.repositoryRoot.appendingPathComponent("migrations").path,
            "PRICING_CATALOG": TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json").path,
        ]
        let litellm = TestServer.repositoryRoot.appendingPathComponent("Tests/Fixtures/litellm-model-prices-trimmed.json").path
        XCTAssertEqual(try run(["migrate"], environment: environment).status, 0)

        let update = try run(["pricing", "import", litellm], environment: environment)
        XCTAssertEqual(update.status, 0, update.output)
        XCTAssertTrue(update.output.contains("mode: update the models the file names, keep every other row"), update.output)
        XCTAssertTrue(update.output.contains("  skipped fal_ai/openai/gpt-image-2.output_cost_per_image: "))
        XCTAssertTrue(update.output.contains("models added, 0 removed,"), "an update removes no model: \(update.output)")

        let replace = try run(["pricing", "import", "--replace", litellm], environment: environment)
        XCTAssertEqual(replace.status, 0, replace.output)
        XCTAssertTrue(replace.output.contains("mode: full replacement (--replace)"))
        XCTAssertTrue(replace.output.contains("  removed model local/*"), replace.output)

        XCTAssertEqual(try run(["pricing", "import", "--everything", litellm], environment: environment).status, 2)
        XCTAssertEqual(try run(["pricing", "import"], environment: environment).status, 2)
    }
}
