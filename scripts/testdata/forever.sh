#!/bin/sh
# Never finishes on its own; SIGTERM ends it.
echo $$ > "$PIDFILE"
exec sleep 1000
