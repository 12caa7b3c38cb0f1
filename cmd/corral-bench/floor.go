package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
)

// serveFloor is `corral-bench floor`: the least a gateway can do, as a
// process of its own. /relay?u=URL copies one upstream's body through as it
// comes; with several u it fetches them in parallel and writes the bodies
// one after the other, unchecked, as a merge must before it does any work.
// It prints its address on its first line of output.
func serveFloor([]string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%s\n", l.Addr())
	return http.Serve(l, http.HandlerFunc(relay))
}

func relay(w http.ResponseWriter, r *http.Request) {
	urls := r.URL.Query()["u"]
	if len(urls) == 1 {
		resp, err := http.Get(urls[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		io.Copy(w, resp.Body)
		return
	}
	bodies := make([]bytes.Buffer, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			resp, err := http.Get(u)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			_, errs[i] = bodies[i].ReadFrom(resp.Body)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	for i := range bodies {
		w.Write(bodies[i].Bytes())
	}
}
