#!/bin/sh
# On-demand health script: probes the service once per scrape (concurrent
# scrapes share one run) and reports what it saw.
set -u
start=$(date +%s)
# (busybox wget -T crashes in the static build: bound it with timeout instead)
if body=$(timeout 2 wget -q -O - "$SERVICE_URL" 2>/dev/null); then up=1; else up=0; fi
bytes=$(printf '%s' "${body:-}" | wc -c)
echo '# HELP appliance_http_up Whether the service answered the probe.'
echo '# TYPE appliance_http_up gauge'
echo "appliance_http_up $up"
echo '# HELP appliance_http_response_bytes Size of the probed page.'
echo '# TYPE appliance_http_response_bytes gauge'
echo "appliance_http_response_bytes $bytes"
echo '# HELP appliance_http_probe_timestamp_seconds When the probe ran.'
echo '# TYPE appliance_http_probe_timestamp_seconds gauge'
echo "appliance_http_probe_timestamp_seconds $start"
