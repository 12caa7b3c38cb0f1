package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/urfave/cli/v2"
)

// healthcheck asks the running corral's /-/healthy on the configured listen
// address, so a Docker HEALTHCHECK needs no curl. A TLS listener is
// recognised by its answer to plain HTTP and asked again over TLS, without
// verifying the certificate (the peer is 127.0.0.1). Behind basic auth the
// answer is 401, which proves corral is serving: that counts as healthy.
func healthcheck(c *cli.Context) error {
	addr := flag(c, "web.listen-address")
	if addr == "" {
		cfg, err := loadFlagged(c)
		if err != nil {
			return cli.Exit(fmt.Sprintf("unhealthy: cannot read the listen address: %v", err), 1)
		}
		addr = cfg.Web.ListenAddress
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return cli.Exit(fmt.Sprintf("unhealthy: listen address %q: %v", addr, err), 1)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	target := net.JoinHostPort(host, port)
	client := &http.Client{
		Timeout: c.Duration("timeout"),
		Transport: &http.Transport{
			Proxy:           nil,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // our own listener on a local address
		},
	}
	status, body, err := get(client, "http://"+target+"/-/healthy")
	if err == nil && status == http.StatusBadRequest && strings.Contains(body, "HTTPS") {
		// "Client sent an HTTP request to an HTTPS server."
		status, _, err = get(client, "https://"+target+"/-/healthy")
	}
	switch {
	case err != nil:
		return cli.Exit(fmt.Sprintf("unhealthy: %v", err), 1)
	case status == http.StatusOK, status == http.StatusUnauthorized:
		fmt.Fprintf(c.App.Writer, "healthy (%d)\n", status)
		return nil
	default:
		return cli.Exit(fmt.Sprintf("unhealthy: /-/healthy answered %d", status), 1)
	}
}

func get(client *http.Client, url string) (status int, body string, err error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(b), nil
}
