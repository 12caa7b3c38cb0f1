package gateway

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// BenchmarkRelay is the floor under /proxy's streaming figure: the same
// client and upstream as BenchmarkScrape, with one hop between them that
// does nothing but relay TCP bytes, by splice (io.Copy between TCP
// connections, zero-copy on Linux) or through a 256 KiB user-space buffer
// as /proxy must. Its p50 against direct is what one extra hop costs on
// this machine before any HTTP is parsed or written.
func BenchmarkRelay(b *testing.B) {
	for _, size := range []struct {
		name   string
		series int
	}{{"90KB", 1000}, {"8.6MB", 100000}} {
		body := benchExposition(size.series)
		up := benchUpstream(b, body)
		target := strings.TrimPrefix(up.URL, "http://")
		for _, mode := range []string{"splice", "buffer"} {
			relay := tcpRelay(b, target, mode == "buffer")
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
			b.Run(fmt.Sprintf("size=%s/relay_%s", size.name, mode), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				p50Get(b, client, "http://"+relay+"/metrics", int64(len(body)))
			})
			client.CloseIdleConnections()
		}
	}
}

// onlyReader and onlyWriter hide ReadFrom/WriteTo so that io.CopyBuffer
// copies through its buffer.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// tcpRelay listens on loopback and relays every connection to target until
// the benchmark ends.
func tcpRelay(b *testing.B, target string, buffered bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	pipe := func(dst, src net.Conn) {
		if buffered {
			io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, make([]byte, 256<<10))
		} else {
			io.Copy(dst, src)
		}
		dst.(*net.TCPConn).CloseWrite()
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Go(func() { pipe(u, c) })
			wg.Go(func() { pipe(c, u) })
		}
	})
	b.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
