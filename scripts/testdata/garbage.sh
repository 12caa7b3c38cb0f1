#!/bin/sh
# Prints binary garbage.
printf '\000\001\377\376\033[2Jgarbage\200\n'
