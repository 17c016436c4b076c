@testable import APIServer
import Foundation
import XCTest

/// The thread defaults follow the processor count Foundation would report, read without Foundation.
final class ProcessorCountTests: XCTestCase {
    func testTheActiveCountIsFoundations() {
        XCTAssertEqual(ProcessorCount.active, ProcessInfo.processInfo.activeProcessorCount)
    }

    func testQuotasRoundUpAndCpusetsCountTheirFirstRange() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String, _ text: String) throws -> String {
            let path = folder.appendingPathComponent(name).path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        XCTAssertEqual(ProcessorCount.quota(quotaPath: try file("q1", "150000\n"), periodPath: try file("p1", "100000\n")), 2)
        XCTAssertEqual(ProcessorCount.quota(quotaPath: try file("q2", "200000\n"), periodPath: try file("p2", "100000\n")), 2)
        XCTAssertNil(ProcessorCount.quota(quotaPath: try file("q3", "-1\n"), periodPath: try file("p3", "100000\n")), "no quota")
        XCTAssertNil(ProcessorCount.quota(quotaPath: folder.appendingPathComponent("absent").path, periodPath: try file("p4", "100000\n")))
        XCTAssertEqual(ProcessorCount.cpuset(try file("c1", "0-3,8-11\n")), 4)
        XCTAssertEqual(ProcessorCount.cpuset(try file("c2", "5\n")), 1)
        XCTAssertNil(ProcessorCount.cpuset(try file("c3", "\n")))
        XCTAssertNil(ProcessorCount.cpuset(try file("c4", "3-1\n")))
    }
}
