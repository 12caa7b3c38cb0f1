#!/bin/sh
# Ignores SIGTERM (and so does its sleep): only SIGKILL ends it.
trap '' TERM
echo $$ > "$PIDFILE"
while :; do sleep 1; done
