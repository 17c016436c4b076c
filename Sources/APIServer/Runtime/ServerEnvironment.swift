import Foundation
import Persistence

/// The composition root: the one place that builds live adapters and hands them to handlers.
struct ServerEnvironment: Sendable {
    let config: AppConfig
    let logger: Logger
    let metrics: Metrics
    let pool: ConnectionPool
    let migrations: MigrationRunner

    static func live(config: AppConfig, logger: Logger) throws -> ServerEnvironment {
        let directory = URL(fileURLWithPath: config.migrationsDirectory)
        return ServerEnvironment(
            config: config,
            logger: logger,
            metrics: Metrics(),
            pool: ConnectionPool(.init(url: config.databaseURL, maximumConnections: config.databasePoolSize,
                                       acquireTimeout: Double(config.databasePoolTimeoutMilliseconds) / 1000)),
            migrations: try MigrationRunner(directory: directory)
        )
    }

    /// Builds the server over the route table (tests may pass a table of their own).
    func makeServer(routes: [Route]? = nil) -> HTTPServer {
        let application = Application(router: Router(routes ?? makeRoutes(self)), cors: CORSPolicy(allowedOrigins: Set(config.corsAllowedOrigins)),
                                      logger: logger, metrics: metrics, maximumBodyBytes: config.maximumBodyBytes)
        return HTTPServer(application: application, limits: .init(
            threads: config.httpThreads, connectionTimeoutSeconds: config.connectionTimeoutSeconds,
            maximumConnections: config.maximumConnections, maximumConnectionsPerIP: config.maximumConnectionsPerIP,
            connectionMemoryBytes: config.maximumHeaderBytes, maximumBodyBytes: config.maximumBodyBytes))
    }
}
