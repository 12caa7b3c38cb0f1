#!/bin/sh
# Write a Prometheus textfile every $INTERVAL seconds, atomically: a reader
# (corral's [file] source) sees the old file or the new one, never half of it.
set -eu
out=${OUT:-/tmp/corral-quickstart/quickstart.prom}
interval=${INTERVAL:-5}
mkdir -p "$(dirname "$out")"
trap 'exit 0' TERM INT
loops=0
while :; do
	loops=$((loops + 1))
	tmp="$out.$$.tmp"
	{
		echo '# HELP quickstart_loops_total Iterations of the quick-start writer loop.'
		echo '# TYPE quickstart_loops_total counter'
		echo "quickstart_loops_total $loops"
		echo '# HELP quickstart_last_write_timestamp_seconds When the writer last wrote this file.'
		echo '# TYPE quickstart_last_write_timestamp_seconds gauge'
		echo "quickstart_last_write_timestamp_seconds $(date +%s)"
		echo '# HELP quickstart_load1 The 1-minute load average.'
		echo '# TYPE quickstart_load1 gauge'
		echo "quickstart_load1 $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)"
	} >"$tmp"
	mv -f "$tmp" "$out"
	sleep "$interval" &
	wait $! || true
done
