// Command corral-bench measures corral against the physical limit of what
// it does: it starts fast upstreams (pre-rendered bodies) and a floor relay
// as processes of their own on loopback, one or more corral binaries in
// front of them, scrapes every case directly, through the floor and
// through each corral in turn, interleaved round by round, and prints each
// case's p50 wall time, its ratio to the direct scrape (for a merge: the
// sum of the direct p50s) and the CPU time each corral process spent per
// scrape (its threads' schedstat), as a Markdown table.
//
//	go build -o /tmp/corral ./cmd/corral && go build -o /tmp/corral-bench ./cmd/corral-bench
//	/tmp/corral-bench -corral new=/tmp/corral -corral old=/tmp/corral-main -n 200
//
// `corral-bench memory -corral PATH` measures memory instead: one corral
// binary's RSS and heap before, during and after 30 s of heavy scrapes of
// an 8.6 MB source, against the README's formula (see memory.go).
//
// `corral-bench startsignal -corral NAME=PATH...` measures the window in
// which a SIGTERM at start-up ends corral as PID 1 with exit 2 (see
// startsignal_linux.go).
//
// `corral-bench upstream` and `corral-bench floor` are the processes it
// starts; they are not meant to be run by hand.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

type binaries []string

func (b *binaries) String() string     { return strings.Join(*b, ",") }
func (b *binaries) Set(v string) error { *b = append(*b, v); return nil }

func main() {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case "upstream":
			err = serveUpstream(os.Args[2:])
		case "floor":
			err = serveFloor(os.Args[2:])
		case "memory":
			err = memoryRun(os.Args[2:])
		case "startsignal":
			err = startSignalRun(os.Args[2:])
		default:
			err = bench(os.Args[1:])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "corral-bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := bench(nil); err != nil {
		fmt.Fprintln(os.Stderr, "corral-bench:", err)
		os.Exit(1)
	}
}

func bench(args []string) error {
	fs := flag.NewFlagSet("corral-bench", flag.ExitOnError)
	var bins binaries
	fs.Var(&bins, "corral", "NAME=PATH of a corral binary to measure, repeatable (default: corral=corral from $PATH)")
	n := fs.Int("n", 100, "measured rounds; every contender scrapes every case once a round")
	warm := fs.Int("warmup", 10, "rounds before the measured ones")
	only := fs.String("case", "", "run only the cases whose name contains this")
	fs.Parse(args)
	if len(bins) == 0 {
		bins = binaries{"corral=corral"}
	}
	return run(bins, *n, *warm, *only, os.Stdout)
}
