#!/bin/sh
# 1,000 crash-restarts of a process that leaves a background child in its
# group; corral as a child subreaper (not PID 1). Counts what is left.
cd "$(dirname "$0")"
[ -x ./corral ] || go build -o corral ../../../cmd/corral
./corral --config.file crash.toml >crash.log 2>&1 &
pid=$!
sleep 0.5
count() { grep -c 'msg="process started"' crash.log; }
until [ "$(count)" -ge 10 ]; do sleep 0.1; done
# the fewest open fds over 20 looks: between two runs, no child's pipes open
fds() { for i in $(seq 20); do ls /proc/$pid/fd | wc -l; sleep 0.01; done | sort -n | head -1; }
fd10=$(fds)
start=$(date +%s.%N)
until [ "$(count)" -ge 1001 ]; do sleep 0.2; done
end=$(date +%s.%N)
fd1000=$(fds)
kill -STOP $pid # freeze the loop to count
desc=$(ps -o pid= --ppid $pid | wc -l)
sleeps=$(ps -eo ppid,comm | awk -v p=$pid '$1==p && $2=="sleep"' | wc -l)
kill -CONT $pid
kill -TERM $pid
wait $pid
echo "restarts: $(($(count)-1)) in $(echo "$end - $start" | bc) s (from the 10th)"
echo "corral fds (fewest of 20 looks) after 10 starts: $fd10, after 1000: $fd1000"
echo "children of corral at the 1000th restart: $desc (sleep: $sleeps)"
echo "left after exit: $(ps -eo args | grep -c '^sleep 1000$')"
