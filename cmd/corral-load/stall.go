package main

import (
	"context"
	"fmt"
	"net"
	"strings"
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
