#!/bin/sh
# An on-demand script source: prints a few metrics to stdout and exits 0.
# An allowed URL parameter arrives as an environment variable, never on the
# command line: /proxy?module=hello&name=world gives CORRAL_PARAM_NAME=world.
set -eu
name=${CORRAL_PARAM_NAME:-world}
case $name in
*[!A-Za-z0-9_.-]*) name=invalid ;;
esac
echo '# HELP hello_info A greeting, as a label.'
echo '# TYPE hello_info gauge'
echo "hello_info{name=\"$name\"} 1"
echo '# HELP hello_script_pid The pid of this run of the script.'
echo '# TYPE hello_script_pid gauge'
echo "hello_script_pid $$"
echo '# HELP hello_uptime_seconds Seconds since the machine booted.'
echo '# TYPE hello_uptime_seconds gauge'
echo "hello_uptime_seconds $(cut -d' ' -f1 /proc/uptime 2>/dev/null || echo 0)"
