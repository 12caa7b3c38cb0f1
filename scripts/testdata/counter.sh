#!/bin/sh
# Appends one line to $COUNTER per run, waits for the file $GATE to exist
# (if set) or sleeps $SLEEP seconds, then reports how many runs there were.
echo run >> "$COUNTER"
if [ -n "$GATE" ]; then
	n=0
	while [ ! -e "$GATE" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
fi
[ -n "$SLEEP" ] && sleep "$SLEEP"
[ -n "$FAIL" ] && [ -e "$FAIL" ] && { echo "failing as asked" >&2; exit 1; }
echo "# HELP script_runs Runs of this script so far."
echo "# TYPE script_runs gauge"
echo "script_runs $(wc -l < "$COUNTER")"
