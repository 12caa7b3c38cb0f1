#!/bin/sh
# Leaves a grandchild behind that holds stdout open, and exits at once.
sleep 1000 &
echo $! > "$PIDFILE"
echo "forked 1"
