#!/bin/sh
# Build corral-test-base: a registry-free base image made of Debian's static
# busybox (package busybox-static) on an empty filesystem. It stands in for
# debian:bookworm-slim or busybox wherever no registry can be reached:
#
#   docker/test-base.sh [TAG]          (default corral-test-base:latest)
#   make image BASE=corral-test-base:latest
set -eu

tag=${1:-corral-test-base:latest}
busybox=${BUSYBOX:-/bin/busybox}

if ! ldd "$busybox" 2>&1 | grep -q 'not a dynamic executable'; then
	echo "$busybox is not a static binary; install Debian's busybox-static" >&2
	exit 1
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/sbin" "$ctx/rootfs/usr/bin" "$ctx/rootfs/usr/sbin" \
	"$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/rootfs/root" "$ctx/rootfs/var/run"
cp "$busybox" "$ctx/rootfs/bin/busybox"
cat >"$ctx/rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$ctx/rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
printf 'hosts: files dns\n' >"$ctx/rootfs/etc/nsswitch.conf"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s"]
RUN chmod 1777 /tmp
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["/bin/sh"]
DOCKERFILE

DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx"
