#!/bin/sh
# Prints the file $FILE.
exec cat "$FILE"
