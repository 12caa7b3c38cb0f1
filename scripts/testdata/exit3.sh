#!/bin/sh
# Prints valid output, then fails.
echo "looks_fine 1"
exit 3
