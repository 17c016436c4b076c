import Crypto
import Foundation
import Persistence

/// `/healthz`, `/readyz` and `/metrics`: what load balancers, orchestrators and Prometheus ask.
struct HealthHandlers: Sendable {
    let pool: ConnectionPool
    let migrations: MigrationRunner
    let metrics: Metrics
    /// `METRICS_TOKEN`: nil leaves `/metrics` open (for a scraper on a private network).
    var metricsToken: String? = nil

    private struct Health: Encodable {
        let status: String
    }

    /// Written by itself (`JSONWritable`): the probe that decides readiness is the first request
    /// a starting server answers, and Foundation's key conversion would page in its encoder for it.
    struct Readiness: JSONWritable {
        let status: String
        let database: String
        let migrationsApplied: Int
        let migrationsPending: Int

        func writeJSON(to json: JSONStreamWriter) {
            json.openObject(firstKey: "database")
            json.writeString(database)
            json.key("migrations_applied")
            json.writeInteger(migrationsApplied)
            json.key("migrations_pending")
            json.writeInteger(migrationsPending)
            json.key("status")
            json.writeString(status)
            json.closeObject()
        }
    }

    /// Encoded once: liveness probes and load balancers call this constantly.
    private static let healthBody = (try? JSONCoding.encoder.encode(Health(status: "ok"))) ?? Data()

    func health(_ request: HTTPRequest) throws -> HTTPResponse {
        .json(bytes: Self.healthBody)
    }

    func readiness(_ request: HTTPRequest) throws -> HTTPResponse {
        let status: MigrationRunner.Status
        do {
            status = try pool.withConnection { try migrations.status(using: $0) }
        } catch let error as DatabaseError {
            throw Problem(status: 503, code: "not_ready", title: "Service Unavailable",
                          detail: error.isConnectionFailure ? "The database is not reachable." : "The database could not be checked.",
                          headers: [("Retry-After", "1")])
        } catch let error as MigrationError {
            throw Problem(status: 503, code: "not_ready", title: "Service Unavailable",
                          detail: "Migrations are inconsistent: \(error)", headers: [("Retry-After", "5")])
        }
        guard status.pending.isEmpty else {
            throw Problem(status: 503, code: "not_ready", title: "Service Unavailable",
                          detail: "\(status.pending.count) migration(s) pending: run `apiserver migrate`.",
                          headers: [("Retry-After", "5")])
        }
        return try .json(Readiness(status: "ready", database: "ok", migrationsApplied: status.applied.count, migrationsPending: 0))
    }

    func metricsText(_ request: HTTPRequest) throws -> HTTPResponse {
        if let metricsToken {
            let sent = Authenticator.bearerToken(of: request) ?? ""
            guard ConstantTime.equals(Array(sent.utf8), Array(metricsToken.utf8)) else {
                throw Problem(status: 401, code: "invalid_metrics_token", title: "Unauthorized",
                              detail: "This server's metrics need its METRICS_TOKEN as a Bearer token.", headers: [("WWW-Authenticate", "Bearer")])
            }
        }
        let pool = pool.statistics
        let text = metrics.render(gauges: [
            ("db_pool_connections", "Database connections by state.", "state=\"in_use\"", Double(pool.inUse)),
            ("db_pool_connections", "Database connections by state.", "state=\"idle\"", Double(pool.idle)),
            ("db_pool_connections_max", "Upper bound of the database pool.", "", Double(pool.maximum)),
            ("process_resident_memory_bytes", "Resident memory size in bytes.", "", Double(residentMemoryBytes())),
        ])
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: Data(text.utf8))
    }
}
