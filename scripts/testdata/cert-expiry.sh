#!/bin/sh
# cert-expiry.sh: when the TLS certificate of $CORRAL_PARAM_HOST (port
# $CORRAL_PARAM_PORT, default 443) expires, as a unix timestamp.
# corral passes the parameters in the environment, never on a command line;
# this script still checks their shape before using them in a label.
set -eu

host=${CORRAL_PARAM_HOST:-}
port=${CORRAL_PARAM_PORT:-443}
case $host in '' | *[!A-Za-z0-9.-]*) echo "host: want a DNS name or IPv4 address, have '$host'" >&2; exit 2 ;; esac
case $port in '' | *[!0-9]*) echo "port: want a number, have '$port'" >&2; exit 2 ;; esac

# No timeout here: at its deadline (CORRAL_DEADLINE) corral kills the whole
# process group, openssl included.
end=$(openssl s_client -connect "$host:$port" -servername "$host" </dev/null 2>/dev/null |
	openssl x509 -noout -enddate)
end=${end#notAfter=}
# date -d is GNU (coreutils) or busybox, not POSIX.
not_after=$(date -u -d "$end" +%s)

cat <<METRICS
# HELP tls_cert_not_after_seconds When the certificate served expires, as a unix timestamp.
# TYPE tls_cert_not_after_seconds gauge
tls_cert_not_after_seconds{host="$host",port="$port"} $not_after
METRICS
