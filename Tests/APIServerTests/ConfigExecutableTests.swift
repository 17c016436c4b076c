import Foundation
import TestSupport
import XCTest

/// The configuration rules as an operator meets them: the real binary, its exit status and output.
final class ConfigExecutableTests: XCTestCase {
    private var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("apiserver").path
    }

    func testHugeNumbersAndBadURLsExitWith2ListingProblemsWithoutThePassword() throws {
        let password = "Sup3r-S3cret-pw"
        for command in ["serve", "migrate"] {
            let child = try ChildProcess(binary, [command], environment: [
                "APP_ENV": "development", "DATABASE_URL": "postgresql://app:\(password)@db.internal:70000/app",
                "PORT": "99999999999999999999", "DB_POOL_SIZE": "-99999999999999999999",
                "JWT_SECRET": String(repeating: "k", count: 40), "APP_ENCRYPTION_SECRET": String(repeating: "v", count: 40),
            ])
            let status = child.wait()
            XCTAssertEqual(status, 2, "\(command): \(child.output)")
            XCTAssertTrue(child.output.contains("PORT must be a whole number from 0 to 65535"), child.output)
            XCTAssertTrue(child.output.contains("DB_POOL_SIZE must be a whole number from 1 to 500"), child.output)
            XCTAssertTrue(child.output.contains("postgresql://app:***@db.internal:70000/app"), child.output)
            XCTAssertFalse(child.output.contains(password), "\(command) printed the password:\n\(child.output)")
        }
    }
}
