# Release image: builds apiserver with the Swift toolchain, then runs it on plain Debian with only
# the C libraries it links. Not exercised on the development machines (no Docker engine there).
FROM swift:6.0-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      libmicrohttpd-dev libpq-dev libssl-dev libcurl4-openssl-dev libcrypt-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product apiserver --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libmicrohttpd12 libpq5 libssl3 libcurl4 libcrypt1 ca-certificates espeak-ng ffmpeg \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /app apiserver
WORKDIR /app
COPY --from=build /src/.build/release/apiserver /usr/local/bin/apiserver
COPY migrations ./migrations
USER apiserver
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
CMD ["apiserver", "serve"]
