#!/bin/sh
# Idle CPU and RSS of corral supervising 5 processes for 60 s (BENCHMARKS.md).
# Run from the repository root: sh docker/idle-cpu.sh
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/corral" ./cmd/corral
{
	printf '[web]\nlisten_address = "127.0.0.1:0"\n'
	for p in a b c d e; do printf '[process.%s]\ncommand = ["/bin/sleep", "1000"]\n' "$p"; done
} > "$dir/corral.toml"
"$dir/corral" --config.file "$dir/corral.toml" > "$dir/log" 2>&1 &
pid=$!
sleep 5 # start-up is not idle
t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
sleep 60
t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
echo "cpu ticks (1/100 s) over 60 s: $((t1 - t0))"
grep VmRSS "/proc/$pid/status"
kill -TERM "$pid"
wait "$pid"
echo "corral exited $?"
