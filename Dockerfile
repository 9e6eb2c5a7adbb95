# syntax=docker/dockerfile:1
# The prescale daemon: a static binary on distroless, as user 65532.
#   docker build -t ghcr.io/prescale/prescale:dev .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 .
# (the build stage runs natively and cross-compiles).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# CGO_ENABLED=0: no libc, so the static image works. timetzdata embeds the
# time zone database (policies say America/New_York; distroless/static has
# no /usr/share/zoneinfo); the binary also imports time/tzdata.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -tags timetzdata -ldflags="-s -w" -o /out/prescale ./cmd/prescale

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/prescale /usr/local/bin/prescale
# nonroot is 65532:65532; numeric, so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/prescale"]
CMD ["run"]
