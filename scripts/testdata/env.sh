#!/bin/sh
# Reports what it was given: parameters (written as-is to $OUT), deadline,
# timeout, stdin size; says something on stderr.
printf '%s' "$CORRAL_PARAM_HOST" > "$OUT"
echo "a word on stderr" >&2
echo "param_host_bytes ${#CORRAL_PARAM_HOST}"
echo "corral_deadline $CORRAL_DEADLINE"
echo "corral_timeout $CORRAL_TIMEOUT"
echo "stdin_bytes $(wc -c)"
echo "args $#"
echo "extra_env{value=\"$EXTRA\"} 1"
