# The alp image: FROM scratch, holding only /alp and /etc/ssl/certs/ca-certificates.crt.
#
# Other images take the binary from it (SPEC section 1):
#   COPY --from=ghcr.io/alp-pm/alp /alp /usr/local/bin/alp
#   RUN --mount=from=ghcr.io/alp-pm/alp,source=/alp,target=/bin/alp alp install jq
#
# Two ways to build it:
#
# 1. From source (the default; pulls rust:1-alpine and builds for the native musl target):
#      docker build -t alp .
#
# 2. From a prebuilt static binary in the build context, e.g. the one CI already built.
#    The Rust image is never pulled: both BuildKit and buildah skip stages the final image
#    does not depend on, and with ALP_SOURCE=prebuilt nothing depends on `builder`.
#      mkdir -p dist
#      cp target/x86_64-unknown-linux-musl/release/alp dist/alp
#      cp /etc/ssl/certs/ca-certificates.crt dist/ca-certificates.crt
#      buildah bud --build-arg ALP_SOURCE=prebuilt -t alp .
#    ALP_BINARY and ALP_CA_BUNDLE name other paths inside the context.
#    (.dockerignore keeps target/ out of the context; dist/ is let in for this.)

# source | prebuilt: which bin-* stage supplies /alp and the CA bundle.
ARG ALP_SOURCE=source
ARG ALP_VERSION=0.1.0

FROM rust:1-alpine AS builder
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /src
COPY . .
# The native target of the alpine image is a musl target, so the binary comes out static
# (.cargo/config.toml adds +crt-static); naming it keeps the output path predictable.
RUN target="$(rustc -vV | sed -n 's/^host: //p')" \
    && cargo build --release --locked --target "$target" \
    && cp "target/$target/release/alp" /alp

FROM builder AS bin-source

FROM scratch AS bin-prebuilt
ARG ALP_BINARY=dist/alp
ARG ALP_CA_BUNDLE=dist/ca-certificates.crt
COPY ${ALP_BINARY} /alp
COPY ${ALP_CA_BUNDLE} /etc/ssl/certs/ca-certificates.crt

FROM bin-${ALP_SOURCE} AS bin

FROM scratch
ARG ALP_VERSION
LABEL org.opencontainers.image.title="alp" \
      org.opencontainers.image.description="A static package installer and container entrypoint" \
      org.opencontainers.image.source="https://github.com/alp-pm/alp" \
      org.opencontainers.image.version="${ALP_VERSION}" \
      org.opencontainers.image.licenses="MIT"
COPY --from=bin --chmod=755 /alp /alp
COPY --from=bin --chmod=644 /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/alp"]
