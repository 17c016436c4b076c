import Domain
import Persistence

/// The route table: every operation the API serves, named by its `operationId` in `openapi.yaml`.
/// A test holds this list and the spec equal, so no route exists without its contract.
func makeRoutes(_ environment: ServerEnvironment) -> [Route] {
    let health = HealthHandlers(pool: environment.pool, migrations: environment.migrations, metrics: environment.metrics,
                                metricsToken: environment.config.metricsToken)
    let auth = AuthHandlers(
        service: environment.auth, authenticator: environment.authenticator,
        // GoTrue's defaults (production): /token 150 per 5 minutes with a burst of 30; sign-up 30 per 5 minutes.
        tokenLimiter: RateLimiter(.perFiveMinutes(environment.config.authTokenRequestsPer5Minutes)),
        signupLimiter: RateLimiter(.perFiveMinutes(environment.config.authSignupRequestsPer5Minutes)),
        clientAddress: environment.clientAddress, blobRemoval: AccountBlobRemoval(components: environment.assets))
    let providers = ProviderHandlers(registry: environment.providers, authenticator: environment.authenticator, router: environment.router)
    let providerConfigs = ProviderConfigHandlers(service: environment.providerConfigs, authenticator: environment.authenticator)
    let pricing = PricingHandlers(store: environment.pricing, authenticator: environment.authenticator)
    let projects = ProjectHandlers(service: environment.projects, authenticator: environment.authenticator,
                                   blobRemoval: ProjectBlobRemoval(components: environment.assets))
    let costs = CostHandlers(store: environment.pricing, authenticator: environment.authenticator)
    // One cache of Anthropic's counts for token counting and quotes.
    let anthropicCounts = AnthropicTokenCounts(vault: environment.vault, providers: environment.keyChecks.providers,
                                               perUser: environment.config.keyChecksPerUser)
    let quotes = QuoteHandlers(service: environment.quotes, authenticator: environment.authenticator, queue: environment.providerWork,
                               anthropic: anthropicCounts)
    let tokens = TokenCountHandlers(
        counter: environment.tokenCounter, authenticator: environment.authenticator, queue: environment.providerWork,
        anthropic: anthropicCounts)
    let apiKeys = ApiKeyHandlers(vault: environment.vault, authenticator: environment.authenticator, keyChecks: environment.keyChecks)
    let generations = GenerationHandlers(admission: environment.generations.admission, executor: environment.generations.executor,
                                         store: environment.generations.store, batches: environment.generations.batches, blobs: environment.generations.blobs,
                                         authenticator: environment.authenticator, eventTokens: environment.generations.eventTokens,
                                         storage: environment.assets.storage)
    let batches = BatchHandlers(admission: environment.generations.batchAdmission, executor: environment.generations.batchExecutor,
                                store: environment.generations.store, batches: environment.generations.batches,
                                authenticator: environment.authenticator, leaseSeconds: environment.generations.leaseSeconds,
                                storage: environment.assets.storage)
    let userBudget = UserBudgetHandlers(service: UserBudgetService(store: PostgresUserBudgetStore(ledger: PostgresBudgetLedger(pool: environment.pool))),
                                        authenticator: environment.authenticator)
    let chat = ChatHandlers.live(environment)
    let generationEvents = GenerationEventHandlers(store: environment.generations.store, hub: environment.generations.eventHub,
                                                   tokens: environment.generations.eventTokens, authenticator: environment.authenticator,
                                                   openStreams: ConcurrencyLimit(perKey: environment.config.eventStreamsPerUser))
    let assets = AssetHandlers(components: environment.assets, authenticator: environment.authenticator)
    return [
        Route("GET", "/healthz", "getHealth", health.health),
        Route("GET", "/readyz", "getReadiness", health.readiness),
        Route("GET", "/metrics", "getMetrics", health.metricsText),
        Route("GET", "/openapi.yaml", "getOpenAPI", environment.documents.specification.respond),
        Route("GET", "/docs", "getDocs", environment.documents.reference.respond),
        Route("POST", "/auth/v1/signup", "signUp", auth.signUp),
        Route("POST", "/auth/v1/token", "issueToken", auth.token),
        Route("POST", "/auth/v1/logout", "logOut", auth.logout),
        Route("GET", "/auth/v1/user", "getUser", auth.getUser),
        Route("PUT", "/auth/v1/user", "updateUser", auth.updateUser),
        Route("DELETE", "/auth/v1/user", "deleteUser", auth.deleteUser),
        Route("GET", "/v1/providers", "listProviders", providers.list),
        Route("GET", "/v1/provider-configs", "listProviderConfigs", providerConfigs.list),
        Route("GET", "/v1/provider-configs/{provider}", "getProviderConfig", providerConfigs.get),
        Route("PUT", "/v1/provider-configs/{provider}", "putProviderConfig", providerConfigs.put),
        Route("GET", "/v1/user-budget", "getUserBudget", userBudget.get),
        Route("PUT", "/v1/user-budget", "putUserBudget", userBudget.put),
        Route("GET", "/v1/pricing", "getPricing", pricing.current),
        Route("POST", "/v1/quotes", "createQuote", deferred: quotes.create),
        Route("POST", "/v1/tokens/count", "countTokens", deferred: tokens.count),
        Route("POST", "/v1/costs", "calculateCost", costs.create),
        Route("GET", "/v1/projects", "listProjects", projects.list),
        Route("POST", "/v1/projects", "createProject", projects.create),
        Route("GET", "/v1/projects/{id}", "getProject", projects.get),
        Route("PATCH", "/v1/projects/{id}", "updateProject", projects.update),
        Route("DELETE", "/v1/projects/{id}", "deleteProject", projects.delete),
        Route("POST", "/v1/api-keys", "createApiKey", apiKeys.create),
        Route("GET", "/v1/api-keys", "listApiKeys", apiKeys.list),
        Route("GET", "/v1/api-keys/{id}", "getApiKey", apiKeys.get),
        Route("PATCH", "/v1/api-keys/{id}", "updateApiKey", apiKeys.update),
        Route("DELETE", "/v1/api-keys/{id}", "deleteApiKey", apiKeys.delete),
        Route("POST", "/v1/api-keys/{id}/test", "testApiKey", deferred: apiKeys.test),
        Route("POST", "/v1/generations", "createGeneration", awaiting: generations.create),
        Route("GET", "/v1/generations", "listGenerations", generations.list),
        Route("GET", "/v1/generations/{id}", "getGeneration", generations.get),
        Route("POST", "/v1/generations/{id}/cancel", "cancelGeneration", generations.cancel),
        Route("POST", "/v1/generations/batch", "createGenerationBatch", batches.create),
        Route("GET", "/v1/generations/batch/{id}", "getGenerationBatch", batches.get),
        Route("POST", "/v1/generations/batch/{id}/cancel", "cancelGenerationBatch", batches.cancel),
        Route("GET", "/v1/generations/{id}/events", "streamGenerationEvents", generationEvents.generationEvents),
        Route("GET", "/v1/events", "streamEvents", generationEvents.allEvents),
        Route("POST", "/v1/events/token", "createEventsToken", generationEvents.createUserStreamToken),
        Route("POST", "/v1/assets", "uploadAsset", upload: assets.upload),
        Route("GET", "/v1/assets", "listAssets", assets.list),
        Route("POST", "/v1/assets/bulk", "bulkAssets", assets.bulk),
        Route("GET", "/v1/assets/{id}", "getAsset", assets.get),
        Route("PATCH", "/v1/assets/{id}", "updateAsset", assets.update),
        Route("DELETE", "/v1/assets/{id}", "deleteAsset", assets.delete),
        Route("GET", "/v1/assets/{id}/content", "getAssetContent", assets.content),
        Route("GET", "/v1/assets/{id}/thumbnail", "getAssetThumbnail", assets.thumbnail),
        Route("POST", "/v1/assets/{id}/signed-url", "createAssetSignedURL", assets.signedURL),
        Route("GET", "/v1/assets/{id}/lineage", "getAssetLineage", assets.lineage),
        Route("POST", "/v1/chat/completions", "createChatCompletion", action: .awaiting(chat.create), renderProblem: ChatErrors.response),
    ]
}
