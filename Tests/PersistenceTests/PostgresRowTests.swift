import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// Rows are read in place from libpq's result (`PostgresRowText` owns it) and by column position
/// (`PostgresColumn`): every reading must be what the reading by name over a copied value gave.
final class PostgresRowTests: XCTestCase {
    func testColumnsFoundOnceReadWhatNamesRead() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let rows = try connection.query("""
            select g as n, g::text as text, case when g % 3 = 0 then null else g * 1.5 end as amount,
                   gen_random_uuid() as id, timestamptz '2026-01-31 12:00:00.5+00' + g * interval '1 hour' as at
            from generate_series(1, 50) g
            """)
        XCTAssertEqual(rows.count, 50)
        let first = try XCTUnwrap(rows.first)
        let (n, text, amount, id, at) = (try first.column("n"), try first.column("text"), try first.column("amount"),
                                         try first.column("id"), try first.column("at"))
        var nulls = 0
        for row in rows {
            XCTAssertEqual(try row.decode(n, as: Int.self), try row.decode("n", as: Int.self))
            XCTAssertEqual(try row.decode(text, as: String.self), try row.decode("text", as: String.self))
            XCTAssertEqual(try row.decodeIfPresent(amount, as: Decimal.self), try row.decodeIfPresent("amount", as: Decimal.self))
            XCTAssertEqual(try row.decode(id, as: UUID.self), try row.decode("id", as: UUID.self))
            XCTAssertEqual(try row.decode(at, as: Date.self), try row.decode("at", as: Date.self))
            if try row.decodeIfPresent(amount, as: Decimal.self) == nil {
                nulls += 1
                XCTAssertThrowsError(try row.decode(amount, as: Decimal.self)) { error in
                    XCTAssertEqual((error as? DecodingFailure)?.column, "amount")
                }
            }
        }
        XCTAssertEqual(nulls, 16)
        XCTAssertThrowsError(try first.column("absent")) { error in
            XCTAssertEqual((error as? DecodingFailure)?.expected, "present column")
        }
        XCTAssertThrowsError(try first.decode(text, as: UUID.self)) { error in
            XCTAssertEqual((error as? DecodingFailure)?.column, "text")
        }
    }

    func testAColumnOfAnotherResultIsLookedUpByName() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let one = try XCTUnwrap(try connection.query("select 1 as a, 2 as b").first)
        let other = try XCTUnwrap(try connection.query("select 20 as b, 10 as a").first)
        let a = try one.column("a")
        XCTAssertEqual(try one.decode(a, as: Int.self), 1)
        XCTAssertEqual(try other.decode(a, as: Int.self), 10, "position 0 of the other result is b")
        XCTAssertEqual(try other.decodeIfPresent(a, as: Int.self), 10)
    }

    func testRowsOutliveTheirConnectionAndReadFromOtherThreads() throws {
        var connection: PostgresConnection? = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let rows = try XCTUnwrap(connection).query("select g, repeat('x', g) as text from generate_series(1, 200) g")
        // The connection runs more statements (its buffers are reused), then is closed.
        _ = try XCTUnwrap(connection).query("select repeat('y', 100000)")
        connection = nil
        let checked = Atomic(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for row in rows {
                let count = (try? row.decode("g", as: Int.self)) ?? -1
                if (try? row.decode("text", as: String.self)) == String(repeating: "x", count: count) { checked.add(1) }
            }
        }
        XCTAssertEqual(checked.value, 800)
    }

    /// Bound parameters are copied into one buffer: NULLs, empty and long texts, non-ASCII, many.
    func testParametersOfEveryShapeBindAsGiven() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let values: [String?] = ["", nil, "plain", "✓ 🎬 ünïcode", String(repeating: "long ", count: 2000), nil, "'; select 1; --", "x"]
        var sql: SQL = "select "
        for (index, value) in values.enumerated() {
            sql = sql + (index == 0 ? "" : ", ") + "\(value)::text as v\(SQL(unsafeRaw: String(index)))"
        }
        let row = try XCTUnwrap(try connection.query(sql).first)
        for (index, value) in values.enumerated() {
            XCTAssertEqual(try row.decodeIfPresent("v\(index)", as: String.self), value, "parameter \(index)")
        }
        let many = (0..<300).map { "value \($0)" }
        var wide: SQL = "select array_length(array["
        for (index, value) in many.enumerated() { wide = wide + (index == 0 ? "" : ", ") + "\(value)::text" }
        wide = wide + "], 1) as n, \(many[299])::text as last"
        let counted = try XCTUnwrap(try connection.query(wide).first)
        XCTAssertEqual(try counted.decode("n", as: Int.self), 300)
        XCTAssertEqual(try counted.decode("last", as: String.self), "value 299")
    }
}

/// A counter the concurrent readers above add to.
private final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var count: Int

    init(_ count: Int) {
        self.count = count
    }

    var value: Int { lock.withLock { count } }

    func add(_ amount: Int) {
        lock.withLock { count += amount }
    }
}
