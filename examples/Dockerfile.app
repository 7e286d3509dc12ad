# An application image whose entrypoint is alp init: at start it installs the packages
# named in ALP_PACKAGES (fast path, no network, when they are already there), then runs
# CMD as its child, forwarding signals and reaping zombies. Used by compose.yaml here.
#
#   docker build -f Dockerfile.app -t alp-example-app .
#
# COPY --from cannot take a build argument directly, hence the named stage.
ARG ALP_IMAGE=ghcr.io/alp-pm/alp:latest
FROM ${ALP_IMAGE} AS alp

FROM debian:bookworm-slim
COPY --from=alp /alp /usr/local/bin/alp
# The key examples/repo's index is signed with: alp trusts the keys in /etc/alp/keys.
COPY keys/*.pub /etc/alp/keys/
ENTRYPOINT ["/usr/local/bin/alp", "init", "--"]
CMD ["hello"]
