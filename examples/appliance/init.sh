#!/bin/sh
# One-shot init task: runs to completion before any process starts.
set -eu
mkdir -p "$WEB_ROOT" "$STATE_DIR"
chown nobody "$STATE_DIR"
if [ ! -e "$WEB_ROOT/index.html" ]; then
	cat >"$WEB_ROOT/index.html" <<HTML
<!doctype html>
<title>corral appliance</title>
<h1>It works</h1>
<p>Served by busybox httpd, supervised by corral. Metrics on port 9999.</p>
HTML
fi
date +%s >"$STATE_DIR/initialized"
echo "initialized $WEB_ROOT and $STATE_DIR"
