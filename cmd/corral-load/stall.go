package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// stall opens o.stall connections to corral, each sending one GET for
// o.stallPath and never reading the answer (with a 4 KiB receive buffer,
// so corral's writes block at once), and holds them open until ctx ends,
// as the attacker held 64 sockets for 60 s. It returns how many it
// opened; it gives up on a connection it cannot open.
func stall(ctx context.Context, o options) int {
	host := strings.TrimPrefix(o.base, "http://")
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	var conns []net.Conn
	for range o.stall {
		conn, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			continue
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: gzip\r\n\r\n", o.stallPath, host)
		conns = append(conns, conn)
	}
	<-ctx.Done()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// silence holds o.silent connections to corral open until ctx ends, each
// sending the first line of a request and nothing more, and opens another
// as soon as corral closes one: a client that holds connections without
// using them (from o.silentFrom, when set: another host's address). It returns how many it opened and the most file descriptors
// corral held meanwhile (with -pid).
func silence(ctx context.Context, o options) (opened int64, peakFDs int) {
	host := strings.TrimPrefix(o.base, "http://")
	var n atomic.Int64
	var wg sync.WaitGroup
	for range o.silent {
		wg.Go(func() {
			d := net.Dialer{Timeout: 5 * time.Second}
			if o.silentFrom != "" {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.silentFrom)}
			}
			for ctx.Err() == nil {
				conn, err := d.DialContext(ctx, "tcp", host)
				if err != nil {
					select { // out of ports or refused: try again soon
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
					continue
				}
				n.Add(1)
				stop := context.AfterFunc(ctx, func() { conn.Close() })
				fmt.Fprintf(conn, "GET / HTTP/1.1\r\n")
				io.Copy(io.Discard, conn) // until corral closes it, or ctx ends
				stop()
				conn.Close()
			}
		})
	}
	if o.pid > 0 {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", o.pid)); err == nil {
				peakFDs = max(peakFDs, len(fds))
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}
	wg.Wait()
	return n.Load(), peakFDs
}
