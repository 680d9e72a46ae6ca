# syntax=docker/dockerfile:1
#
# Gatehouse container image: a static binary (CGO_ENABLED=0; SQLite is the
# pure-Go modernc driver) on an empty base with only CA certificates, a
# passwd entry for the non-root user, /tmp and /data. There is no shell, no
# package manager and nothing else to exploit at run time.
#
#   docker build -t gatehouse --build-arg VERSION=$(git describe --always) .
#   docker run -e SECRET_KEY=$(gatehouse generate-secret) -e SITE_URL=https://auth.example.com \
#     -p 8000:8000 -v gatehouse-data:/data gatehouse
#
# Probes: there is no HEALTHCHECK (it would need a shell or a second binary).
# Orchestrators probe over HTTP instead: GET /_health (liveness: the process
# serves) and GET /_readyz (readiness: the database answers). Metrics are off
# unless METRICS_ADDR is set (e.g. 0.0.0.0:9102); never publish that port.
#
# For reproducible builds pin the builder by digest (golang:1.26.10-bookworm@sha256:…).

ARG GO_VERSION=1.26.10

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOOS=linux GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# timetzdata embeds the time-zone database: the final image has none.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -tags timetzdata -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/usr/local/bin/gatehouse ./cmd/gatehouse
# The run-time file system: the user 65532 ("nonroot", as in distroless),
# its data directory, a sticky world-writable /tmp, and the CA bundle for
# TLS to PostgreSQL, Redis, SMTP and SSO providers.
RUN set -eu; \
    mkdir -p /out/etc/ssl/certs /out/tmp /data; \
    cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' > /out/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group; \
    chmod 0700 /data; chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
# --chown: COPY would otherwise make the data directory root's.
COPY --from=build --chown=65532:65532 /data /data
USER 65532:65532
ENV GATEHOUSE_ADDR=0.0.0.0:8000 \
    GATEHOUSE_DATA_DIR=/data
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve"]
