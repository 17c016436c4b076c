/// The route table: every operation the API serves, named by its `operationId` in `openapi.yaml`.
/// A test holds this list and the spec equal, so no route exists without its contract.
func makeRoutes(_ environment: ServerEnvironment) -> [Route] {
    let health = HealthHandlers(pool: environment.pool, migrations: environment.migrations, metrics: environment.metrics)
    return [
        Route("GET", "/healthz", "getHealth", health.health),
        Route("GET", "/readyz", "getReadiness", health.readiness),
        Route("GET", "/metrics", "getMetrics", health.metricsText),
    ]
}
