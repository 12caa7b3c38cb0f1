package proc

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procEntry is one process as /proc/PID/stat shows it.
type procEntry struct {
	pid, ppid, pgrp int
	state           byte // R, S, D, T, Z, ...
}

// live reports whether the process still runs: not a zombie (Z), not dead (X).
func (e procEntry) live() bool { return e.state != 'Z' && e.state != 'X' }

// readProcs lists every process in /proc; one that ends meanwhile is left out.
func readProcs() []procEntry {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	out := make([]procEntry, 0, len(stats))
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')') // the command name may hold anything
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state, ppid, pgrp, ...
		if len(f) < 3 || len(f[0]) != 1 {
			continue
		}
		var e procEntry
		e.pid, _ = strconv.Atoi(strings.Fields(s)[0])
		e.ppid, _ = strconv.Atoi(f[1])
		e.pgrp, _ = strconv.Atoi(f[2])
		e.state = f[0][0]
		out = append(out, e)
	}
	return out
}

// liveGroups is the set of process groups with a live member.
func liveGroups() map[int]bool {
	out := make(map[int]bool)
	for _, e := range readProcs() {
		if e.live() {
			out[e.pgrp] = true
		}
	}
	return out
}
