#!/bin/sh
# Stop of an appliance whose main process ignores SIGTERM, with three
# processes (c depends on b on a), corral as PID 1 of a user+pid namespace.
cd "$(dirname "$0")"
[ -x ./corral ] || go build -o corral ../../../cmd/corral
unshare --user --map-root-user --pid --fork --mount-proc --kill-child \
  ./corral --config.file stop.toml -- /bin/sh -c "trap 'echo main ignores SIGTERM' TERM; while :; do sleep 0.1; done" >out.log 2>&1 &
sleep 2
pid=$(pgrep -P $! corral)
start=$(date +%s.%N)
kill -TERM "$pid"
wait
end=$(date +%s.%N)
grep -E 'stopping process|SIGTERM|done|killing|grace over|sweep|msg=stopped' out.log | sed -E 's/^time=[^ ]*T([0-9:.]*)Z/\1/'
echo "SIGTERM to exit: $(echo "$end - $start" | bc) s"
