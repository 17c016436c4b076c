@testable import APIServer
import Foundation
import Providers
import XCTest

final class LoggerTests: XCTestCase {
    func testTheProviderLayerLogsAtTheServersLevel() {
        XCTAssertEqual([Logger.Level.debug, .info, .warn, .error].map(ServerEnvironment.providerLogLevel).map(\.rawValue),
                       ["debug", "info", "warning", "error"])
    }

    func testEachLineIsOneJSONObjectWithFieldsInCallOrder() throws {
        let lines = LockedLines()
        let logger = Logger(minimumLevel: .info) { lines.append($0) }
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{7} é 漢字 🚀"
        logger.info("request", ["zeta": .string(tricky), "alpha": .int(-42), "ratio": .double(0.125), "ok": .bool(true),
                                "bad": .double(.nan), "took": .milliseconds(nanoseconds: 12_345_678),
                                "quick": .milliseconds(nanoseconds: 1_499)])
        logger.debug("dropped below the minimum level")
        let line = try XCTUnwrap(lines.all.first)
        XCTAssertEqual(lines.all.count, 1)
        XCTAssertFalse(line.contains("\n"))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["msg"] as? String, "request")
        XCTAssertEqual(object["level"] as? String, "info")
        XCTAssertEqual(object["zeta"] as? String, tricky)
        XCTAssertEqual(object["alpha"] as? Int, -42)
        XCTAssertEqual(object["ratio"] as? Double, 0.125)
        XCTAssertEqual(object["ok"] as? Bool, true)
        XCTAssertTrue(object["bad"] is NSNull)
        XCTAssertTrue(line.contains(#""took":12.346,"quick":0.001}"#), line)
        XCTAssertNotNil((object["time"] as? String).flatMap { ISO8601DateFormatter.withMilliseconds.date(from: $0) })
        let order = ["time", "level", "msg", "zeta", "alpha", "ratio", "ok", "bad"].map { line.range(of: "\"\($0)\":")!.lowerBound }
        XCTAssertEqual(order, order.sorted())
    }
}

private extension ISO8601DateFormatter {
    static var withMilliseconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
