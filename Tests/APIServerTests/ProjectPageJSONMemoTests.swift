@testable import APIServer
import Domain
import Foundation
import Persistence
import XCTest

/// A listed page's remembered body is sent only for the very page it was written from: pages with
/// the same ids and versions but another amount, another normalization of a text, another figure or
/// another cursor are written afresh.
final class ProjectPageJSONMemoTests: XCTestCase {
    private static let user = UUID()
    private static let id = UUID()
    /// The default listing: no parameters to refuse, so it never throws.
    private static let query = (try? ProjectListQuery(archived: nil, search: nil, sort: nil, limit: nil, cursor: nil))

    private func plain(_ page: ProjectPage) -> String {
        let writer = JSONStreamWriter()
        ProjectPageBody(page).writeJSON(to: writer)
        return String(decoding: writer.bytes.array, as: UTF8.self)
    }

    private func throughMemo(_ page: ProjectPage) throws -> String {
        String(decoding: try ProjectPageJSONMemo.body(of: page, query: try XCTUnwrap(Self.query), user: Self.user), as: UTF8.self)
    }

    private static func money(_ text: String) throws -> Money {
        try Money(exactly: try XCTUnwrap(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))))
    }

    private static func page(name: String = "Launch", description: String? = nil, spent: Money? = nil, reserved: String = "0",
                             archivedAt: Date? = nil, periodStart: Double = 1_764_547_200, next: ProjectCursor? = nil) throws -> ProjectPage {
        let project = Project(
            id: id, name: name, description: description, archivedAt: archivedAt,
            createdAt: Date(timeIntervalSince1970: 1_764_500_000.123), updatedAt: Date(timeIntervalSince1970: 1_764_600_000),
            version: 3, budget: BudgetSummary(limit: try money("10.50"), period: .monthly, spent: try spent ?? money("1.5"),
                                              reserved: try money(reserved), periodStart: Date(timeIntervalSince1970: periodStart)))
        return ProjectPage(items: [project], next: next)
    }

    func testTheSamePageIsSentFromTheMemoAsItsBodyIs() throws {
        let page = try Self.page(description: "A \"quoted\" ünïcode text")
        XCTAssertEqual(try throughMemo(page), plain(page))
        XCTAssertNotNil(ProjectPageJSONMemo.shared.value(for: UserQueryKey(user: Self.user, query: try XCTUnwrap(Self.query))), "remembered for this thread")
        XCTAssertEqual(try throughMemo(page), plain(page))
        // An equal page in other storage (as the store decodes a changed result) is written afresh.
        let copy = try Self.page(description: "A \"quoted\" ünïcode text")
        XCTAssertEqual(try throughMemo(copy), plain(page))
    }

    func testAPageThatWritesOtherwiseIsWrittenAfresh() throws {
        let base = try Self.page()
        let variants: [(String, ProjectPage)] = [
            ("another amount", try Self.page(spent: try Self.money("1.6"))),
            ("another reservation", try Self.page(reserved: "0.25")),
            ("a canonically equal name", try Self.page(name: "Launch e\u{301}")),
            ("the precomposed name", try Self.page(name: "Launch \u{E9}")),
            ("an empty description", try Self.page(description: "")),
            ("archived", try Self.page(archivedAt: Date(timeIntervalSince1970: 1_764_700_000))),
            ("another period", try Self.page(periodStart: 1_767_225_600)),
            ("a next page", try Self.page(next: ProjectCursor(sort: .name, key: "launch", id: Self.id))),
            ("no project", ProjectPage(items: [], next: nil)),
        ]
        XCTAssertEqual(variants.count, 9)
        for (label, variant) in variants {
            XCTAssertNotEqual(plain(variant), plain(base), "\(label) must be written differently for this test to mean anything")
            XCTAssertEqual(try throughMemo(base), plain(base), label)
            XCTAssertEqual(try throughMemo(variant), plain(variant), label)
            XCTAssertEqual(try throughMemo(base), plain(base), label)
        }
        // The two normalizations of one name are equal Strings, yet are written differently.
        XCTAssertEqual("Launch e\u{301}", "Launch \u{E9}")
        // An equal amount stored with more digits is written as its own representation says.
        let padded = try Self.page(spent: try Money(units: 1_500, scale: 3))
        XCTAssertEqual(try throughMemo(padded), plain(padded))
        XCTAssertEqual(try throughMemo(base), plain(base))
    }
}
