import Foundation
import Persistence
import TestSupport
import XCTest

/// Every index costs every insert an entry (and most updates another), so an index another one
/// already covers is pure write cost: migration 178 dropped one (assets_user_idx, a prefix of
/// assets_user_created_idx, since 189 assets_user_created_bytes_idx) from the rows every generation
/// writes. These keep another from coming back.
final class RedundantIndexTests: XCTestCase {
    private var admin: PostgresConnection!

    override func setUpWithError() throws {
        admin = try PostgresConnection(url: try TestPostgresCluster.shared.createDatabase(prefix: "indexes"))
        try MigrationRunner(directory: SecurityModelTests.migrationsFolder).migrate(using: admin)
    }

    /// Non-unique plain btree indexes whose key columns, in the same order and directions and with
    /// the same predicate, lead another btree index of the same table: that one serves every
    /// lookup and order the shorter one serves. (A unique index enforces something, so it stays.)
    private func coveredIndexes() throws -> [String] {
        try admin.query("""
            select s.indexrelid::regclass::text || ' is covered by ' || l.indexrelid::regclass::text as covered
            from pg_index s
            join pg_class sc on sc.oid = s.indexrelid join pg_am sa on sa.oid = sc.relam
            join pg_index l on l.indrelid = s.indrelid and l.indexrelid <> s.indexrelid
            join pg_class lc on lc.oid = l.indexrelid join pg_am la on la.oid = lc.relam
            join pg_namespace n on n.oid = sc.relnamespace
            where n.nspname in ('public', 'auth', 'pricing') and sa.amname = 'btree' and la.amname = 'btree'
              and not s.indisunique and s.indexprs is null and l.indexprs is null
              and s.indnkeyatts <= l.indnkeyatts
              and (s.indkey::int2[])[0:s.indnkeyatts - 1] = (l.indkey::int2[])[0:s.indnkeyatts - 1]
              and (s.indoption::int2[])[0:s.indnkeyatts - 1] = (l.indoption::int2[])[0:s.indnkeyatts - 1]
              and pg_get_expr(s.indpred, s.indrelid) is not distinct from pg_get_expr(l.indpred, l.indrelid)
              and (s.indnkeyatts < l.indnkeyatts or s.indexrelid > l.indexrelid)
            order by 1
            """).map { try $0.decode("covered", as: String.self) }
    }

    func testNoIndexIsCoveredByAnotherOfItsTable() throws {
        XCTAssertEqual(try coveredIndexes(), [])
    }

    func testAnIndexLeadingAnotherIsFound() throws {
        try admin.query("begin")
        defer { _ = try? admin.query("rollback") }
        try admin.query("create index assets_user_again_idx on public.assets (user_id, created_at desc)")
        XCTAssertEqual(try coveredIndexes(), ["assets_user_again_idx is covered by assets_user_created_bytes_idx"])
    }

    func testAnIndexInTheOtherDirectionOrWithAnotherPredicateIsNotCovered() throws {
        try admin.query("begin")
        defer { _ = try? admin.query("rollback") }
        try admin.query("create index assets_user_ascending_idx on public.assets (user_id, created_at)")
        try admin.query("create index assets_user_recent_idx on public.assets (user_id, created_at desc) where bytes > 0")
        XCTAssertEqual(try coveredIndexes(), [])
    }
}
