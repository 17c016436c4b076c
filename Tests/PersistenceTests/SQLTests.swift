import Foundation
import Persistence
import XCTest

final class SQLTests: XCTestCase {
    func testInterpolatedValuesBecomeNumberedParameters() {
        let name = "Robert'); drop table students;--"
        let sql: SQL = "select * from t where name = \(name) and age > \(42)"
        let (text, parameters) = sql.render()
        XCTAssertEqual(text, "select * from t where name = $1 and age > $2")
        XCTAssertEqual(parameters, [name, "42"])
    }

    func testFragmentsComposeAndRenumber() {
        let filter: SQL = "owner = \(UUID(uuidString: "00000000-0000-0000-0000-000000000001")!)"
        let sql: SQL = "select 1 where a = \(true) and \(filter) and b = \(Optional<String>.none)"
        let (text, parameters) = sql.render()
        XCTAssertEqual(text, "select 1 where a = $1 and owner = $2 and b = $3")
        XCTAssertEqual(parameters, ["true", "00000000-0000-0000-0000-000000000001", nil])
    }

    func testTextArraysQuoteEveryElement() {
        XCTAssertEqual(["a", "b\"c", "d\\e", "x,y"].postgresText, #"{"a","b\"c","d\\e","x,y"}"#)
    }

    func testByteaHexEncoding() {
        XCTAssertEqual(Data([0x00, 0xff, 0x10]).postgresText, "\\x00ff10")
    }

    func testDatabaseErrorDescriptionHidesTheServerMessage() {
        let error = DatabaseError(step: .statement, sqlState: "23505", serverMessage: "duplicate key value (email)=(a@b.c)")
        XCTAssertFalse(String(describing: error).contains("a@b.c"))
        XCTAssertTrue(String(reflecting: error).contains("a@b.c"))
    }
}
