# corral as the ENTRYPOINT of an appliance image.
#
# As in the Prometheus projects, the binary is built outside (make build: a
# static CGO_ENABLED=0 binary in dist/) and copied onto a small base given by
# a build argument:
#
#   make build image                                  # on debian:bookworm-slim
#   docker/test-base.sh && make image BASE=corral-test-base:latest   # no registry
#
# An appliance image adds corral with COPY --from (see docker/README.md).
ARG BASE=debian:bookworm-slim
FROM ${BASE}

LABEL org.opencontainers.image.title="corral" \
      org.opencontainers.image.description="PID 1 supervisor and one-port Prometheus metrics gateway for appliance containers" \
      org.opencontainers.image.source="https://github.com/corral-metrics/corral"

COPY dist/corral /bin/corral
COPY docker/corral.toml /etc/corral/corral.toml

EXPOSE 9999
# corral is PID 1: it reaps zombies, forwards signals and, without a main
# process, exits 0 after a clean shutdown within [supervisor] stop_timeout
# (8 s by default, inside docker stop's 10 s).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/bin/corral", "healthcheck"]
ENTRYPOINT ["/bin/corral"]
