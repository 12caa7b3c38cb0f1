#!/bin/sh
# A helper loop that writes a textfile every $INTERVAL seconds, atomically
# (temporary file, then rename), for corral's [file.usage] source.
set -eu
trap 'exit 0' TERM INT
while :; do
	tmp="$OUT.tmp"
	{
		echo '# HELP appliance_web_root_bytes Disk space used by the web root.'
		echo '# TYPE appliance_web_root_bytes gauge'
		echo "appliance_web_root_bytes $(($(du -sk "$WEB_ROOT" | cut -f1) * 1024))"
		echo '# HELP appliance_usage_last_run_timestamp_seconds When the usage loop last wrote this file.'
		echo '# TYPE appliance_usage_last_run_timestamp_seconds gauge'
		echo "appliance_usage_last_run_timestamp_seconds $(date +%s)"
	} >"$tmp"
	mv -f "$tmp" "$OUT"
	sleep "${INTERVAL:-5}" &
	wait $! || true
done
