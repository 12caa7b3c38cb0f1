#!/bin/sh
# Prints 1 GiB of valid-looking lines.
echo $$ > "$PIDFILE"
yes 'big_metric{a="b"} 1' | head -c 1073741824
