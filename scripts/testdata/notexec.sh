#!/bin/sh
# Not executable on purpose.
echo "never 1"
