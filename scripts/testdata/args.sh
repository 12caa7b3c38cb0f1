#!/bin/sh
# Prints each argument it was given as a series, in order.
i=0
for a in "$@"; do
	printf 'arg{i="%d",value="%s"} 1\n' "$i" "$a"
	i=$((i + 1))
done
echo "args $#"
