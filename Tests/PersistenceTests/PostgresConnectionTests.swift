import Foundation
import Persistence
import TestSupport
import XCTest

final class PostgresConnectionTests: XCTestCase {
    func testValuesRoundTripThroughBoundParameters() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let id = UUID()
        let amount = Decimal(string: "12.3456789012")!
        let when = Date(timeIntervalSince1970: 1_764_000_000.123456)
        let bytes = Data([0, 1, 2, 250, 255])
        let hostile = "it's \"quoted\"; drop table x; -- ✓ 🎬"
        let rows = try connection.query("""
            select \(id)::uuid as id, \(amount)::numeric as amount, \(when)::timestamptz as at,
                   \(bytes)::bytea as bytes, \(hostile)::text as text, \(Optional<Int>.none)::int as missing,
                   \(7)::int + 1 as eight, \(true)::bool as flag
            """)
        let row = try XCTUnwrap(rows.first)
        XCTAssertEqual(try row.decode("id", as: UUID.self), id)
        XCTAssertEqual(try row.decode("amount", as: Decimal.self), amount)
        XCTAssertEqual(try row.decode("at", as: Date.self).timeIntervalSince1970, when.timeIntervalSince1970, accuracy: 0.000001)
        XCTAssertEqual(try row.decode("bytes", as: Data.self), bytes)
        XCTAssertEqual(try row.decode("text", as: String.self), hostile)
        XCTAssertNil(try row.decodeIfPresent("missing", as: Int.self))
        XCTAssertEqual(try row.decode("eight", as: Int.self), 8)
        XCTAssertEqual(try row.decode("flag", as: Bool.self), true)
        XCTAssertThrowsError(try row.decode("missing", as: Int.self))
    }

    /// A bound text array comes back element for element, whatever the elements hold: quotes,
    /// backslashes, the array syntax's own characters, NULL's spelling, empty, spaces, non-ASCII.
    func testTextArraysRoundTripThroughBoundParameters() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        let elements = ["plain", "", "NULL", "a,b", "{x}", "say \"hi\"", #"back\slash"#, #"\""#, #"ends with \"#, " padded ",
                        "tab\tand\nnewline", "✓ 🎬 é", "it's"]
        let rows = try connection.query("select u.element from unnest(\(elements)::text[]) with ordinality u(element, k) order by k")
        XCTAssertEqual(try rows.map { try $0.decode("element", as: String.self) }, elements)
        XCTAssertEqual(try connection.query("select cardinality(\([String]())::text[]) as n")[0].decode("n", as: Int.self), 0)
    }

    func testServerErrorsCarrySQLState() throws {
        let connection = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase())
        XCTAssertThrowsError(try connection.query("select 1/0")) { error in
            XCTAssertEqual((error as? DatabaseError)?.sqlState, "22012")
            XCTAssertEqual((error as? DatabaseError)?.step, .statement)
        }
    }

    func testUnreachableServerIsAConnectFailure() throws {
        let port = try freeLoopbackPort()
        XCTAssertThrowsError(try PostgresConnection(url: "postgresql://postgres@127.0.0.1:\(port)/postgres", connectTimeoutSeconds: 2)) { error in
            XCTAssertEqual((error as? DatabaseError)?.step, .connect)
            XCTAssertEqual((error as? DatabaseError)?.isConnectionFailure, true)
        }
    }
}
