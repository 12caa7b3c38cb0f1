#!/bin/sh
# Build corral-test-prometheus: Debian's /usr/bin/prometheus (package
# prometheus) and the shared libraries it links, on corral-test-base. The
# example appliance's docker-compose.yml runs it where prom/prometheus cannot
# be pulled.
#
#   docker/prometheus-image.sh [TAG] [BASE]
#     TAG  default corral-test-prometheus:latest
#     BASE default corral-test-base:latest (build it with docker/test-base.sh)
set -eu

tag=${1:-corral-test-prometheus:latest}
base=${2:-corral-test-base:latest}
prometheus=${PROMETHEUS:-/usr/bin/prometheus}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc/prometheus" "$ctx/rootfs/prometheus"
cp "$prometheus" "$ctx/rootfs/bin/prometheus"
# Debian builds prometheus with cgo: copy every library ldd names, at the same
# path, so the dynamic loader finds them in the image.
ldd "$prometheus" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | while read -r lib; do
	mkdir -p "$ctx/rootfs$(dirname "$lib")"
	cp -L "$lib" "$ctx/rootfs$lib"
done
cat >"$ctx/rootfs/etc/prometheus/prometheus.yml" <<'YAML'
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
YAML
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY rootfs/ /
RUN chown -R nobody:nogroup /prometheus
USER nobody
EXPOSE 9090
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE

DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx"
