package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// checkReady polls the check every r.Interval until it passes (nil), the
// start timeout r.Timeout runs out or ctx ends: then it returns the last
// attempt's failure, which says why the process was not ready (not an
// attempt the start timeout cut short, when one came before it). Polling
// happens only while a process starts, never once it is ready.
func (s *Supervisor) checkReady(ctx context.Context, p *process) error {
	r := p.cfg.Ready
	ctx, cancel := context.WithTimeout(ctx, r.Timeout.Std())
	defer cancel()
	// One attempt may take at most an interval, and at least a second.
	per := max(r.Interval.Std(), time.Second)
	var client *http.Client
	if r.HTTP != "" {
		tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr, Timeout: per}
	}
	tick := time.NewTicker(r.Interval.Std())
	defer tick.Stop()
	var last error
	for {
		actx, acancel := context.WithTimeout(ctx, per)
		var err error
		switch {
		case r.HTTP != "":
			err = checkHTTP(actx, client, r.HTTP)
		case r.TCP != "":
			var c net.Conn
			c, err = (&net.Dialer{}).DialContext(actx, "tcp", r.TCP)
			if err == nil {
				c.Close()
			} else {
				err = fmt.Errorf("ready.tcp: %w", err)
			}
		default:
			err = s.checkExec(actx, spec{name: p.name + ":ready", command: r.Exec, env: p.cfg.Env, dir: p.cfg.Dir, cred: p.cred})
		}
		acancel()
		if err == nil {
			return nil
		}
		if end, _ := ctx.Deadline(); last != nil && (ctx.Err() != nil || !time.Now().Before(end)) {
			// Cut short by the start timeout (a dialer sees the deadline
			// pass before ctx says so): the attempt before says more.
			return last
		}
		last = err
		p.logger.Debug("readiness check failed", "err", err)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return last
		}
	}
}

// checkHTTP asks rawURL once; 2xx passes. Its errors, which are logged,
// name the URL without userinfo or query: either may hold a secret (a
// management API's password, a token).
func checkHTTP(ctx context.Context, client *http.Client, rawURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return errors.New("ready.http: not a URL") // config validation keeps this from happening
	}
	shown := *req.URL
	shown.User, shown.RawQuery, shown.Fragment = nil, "", ""
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error // its text holds the URL, query and all
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("ready.http: GET %s: %w", shown.String(), err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("ready.http: GET %s: status %d", shown.String(), resp.StatusCode)
	}
	return nil
}

// checkExec runs the check command through the reaper; exit 0 passes. On
// ctx's end its process group is killed.
func (s *Supervisor) checkExec(ctx context.Context, sp spec) error {
	c, err := s.spawn(sp)
	if err != nil {
		return fmt.Errorf("ready.exec: %w", err)
	}
	select {
	case e := <-c.Exited():
		c.Signal(unix.SIGKILL) // a check leaves nothing behind
		if !e.Success() {
			return fmt.Errorf("ready.exec: %s", e)
		}
		return nil
	case <-ctx.Done():
		c.Signal(unix.SIGKILL)
		<-c.Exited()
		return fmt.Errorf("ready.exec: %w", ctx.Err())
	}
}

// errNotifyClosed: the process closed its notify_fd (or ended) without
// writing a newline: it will not be ready, whatever its timeout.
var errNotifyClosed = errors.New("ready.notify_fd: closed without a newline")

// awaitNotify is s6's notification-fd protocol: it reads the child's
// notification pipe until a newline (ready: nil), the start timeout, or
// EOF, when the child closed it without a newline or ended (an error
// saying which). It closes r.
func awaitNotify(r *os.File, timeout time.Duration) error {
	defer r.Close()
	r.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		if bytes.IndexByte(buf[:n], '\n') >= 0 {
			return nil
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return errors.New("ready.notify_fd: no newline written")
		case errors.Is(err, io.EOF):
			return errNotifyClosed
		case err != nil:
			return fmt.Errorf("ready.notify_fd: %w", err)
		}
	}
}
