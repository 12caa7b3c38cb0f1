package main

import (
	"bufio"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/supervisor/tail"
)

// Exit codes of corral ctl, for scripts (README: "corral ctl").
const (
	ctlOK      = 0
	ctlFailed  = 1 // corral unreachable, or an answer ctl did not expect
	ctlUsage   = 2 // bad arguments: a missing name, a signal that is not one
	ctlUnknown = 3 // no process of that name
	ctlRefused = 4 // refused: control off, not allowed, the main process, not running
)

// ctlCommand is `corral ctl`: the control API from a shell.
func ctlCommand() *cli.Command {
	flags := ctlFlags()
	named := func(name, usage string, action func(*cli.Context, *ctlClient, string) error) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, ArgsUsage: "NAME", Flags: flags,
			Action: ctlAction(func(c *cli.Context, cl *ctlClient) error {
				if c.NArg() != 1 {
					return cli.Exit(fmt.Sprintf("corral ctl %s: want one process name, have %d arguments", name, c.NArg()), ctlUsage)
				}
				return action(c, cl, c.Args().First())
			}),
		}
	}
	post := func(action string) func(*cli.Context, *ctlClient, string) error {
		return func(c *cli.Context, cl *ctlClient, name string) error {
			return cl.post(c.App.Writer, name, action, "")
		}
	}
	return &cli.Command{
		Name:  "ctl",
		Usage: "status, start, stop, restart, signal and logs of the processes of a running corral (exit 0 ok, 1 failed, 2 usage, 3 unknown process, 4 refused)",
		Flags: flags,
		Subcommands: []*cli.Command{
			{
				Name: "status", Usage: "every process: state, pid, uptime, restarts, last exit, CPU, memory", ArgsUsage: " ",
				Flags: append(ctlFlags(), &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json"}),
				Action: ctlAction(func(c *cli.Context, cl *ctlClient) error {
					return cl.status(c.App.Writer, c.String("output"))
				}),
			},
			named("start", "start a stopped process", post("start")),
			named("stop", "stop a process; it stays stopped until a start", post("stop")),
			named("restart", "stop a process and start it again", post("restart")),
			{
				Name: "signal", Usage: "send a signal (HUP, USR1, ...) to a process's group", ArgsUsage: "NAME SIGNAL", Flags: flags,
				Action: ctlAction(func(c *cli.Context, cl *ctlClient) error {
					if c.NArg() != 2 {
						return cli.Exit(fmt.Sprintf("corral ctl signal: want a process name and a signal, have %d arguments", c.NArg()), ctlUsage)
					}
					sig := c.Args().Get(1)
					if _, err := gateway.ParseSignal(sig); err != nil {
						return cli.Exit("corral ctl signal: "+err.Error(), ctlUsage)
					}
					return cl.post(c.App.Writer, c.Args().First(), "signal", sig)
				}),
			},
			{
				Name: "logs", Usage: "the recent output of a process (-f: then follow it)", ArgsUsage: "NAME",
				Flags: append(ctlFlags(), &cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines"}),
				Action: ctlAction(func(c *cli.Context, cl *ctlClient) error {
					if c.NArg() != 1 {
						return cli.Exit(fmt.Sprintf("corral ctl logs: want one process name, have %d arguments", c.NArg()), ctlUsage)
					}
					return cl.logs(c.App.Writer, c.Args().First(), c.Bool("follow"))
				}),
			},
		},
	}
}

// ctlFlags locate and reach corral: the config flags (for the listen
// address and the bearer token file), then TLS and authentication.
func ctlFlags() []cli.Flag {
	return append(configFlags(),
		&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "how long to wait for an answer (a stop waits for the process's grace)"},
		&cli.StringFlag{Name: "bearer-token-file", Usage: "send Authorization: Bearer with this file's content (default: [web] bearer_token_file)"},
		&cli.StringFlag{Name: "username", Usage: "basic auth user (web config basic_auth_users)"},
		&cli.StringFlag{Name: "password-file", Usage: "basic auth password, read from this file"},
		&cli.StringFlag{Name: "tls.ca-file", Usage: "verify corral's certificate with these CAs (default: not verified, as for healthcheck)"},
		&cli.StringFlag{Name: "tls.cert-file", Usage: "client certificate (web config client_auth_type)"},
		&cli.StringFlag{Name: "tls.key-file", Usage: "client certificate's key"},
	)
}

// ctlClient talks to one corral's control API.
type ctlClient struct {
	base   string // http(s)://host:port
	client *http.Client
	header http.Header
}

func ctlAction(do func(*cli.Context, *ctlClient) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		cl, err := newCtlClient(c)
		if err != nil {
			return cli.Exit("corral ctl: "+err.Error(), ctlFailed)
		}
		return do(c, cl)
	}
}

func newCtlClient(c *cli.Context) (*ctlClient, error) {
	addr, tokenFile := flag(c, "web.listen-address"), flag(c, "bearer-token-file")
	if addr == "" || tokenFile == "" {
		cfg, err := loadFlagged(c)
		switch {
		case err != nil && addr == "":
			return nil, fmt.Errorf("cannot read the listen address (give --web.listen-address): %w", err)
		case err == nil:
			addr = cmp.Or(addr, cfg.Web.ListenAddress)
			tokenFile = cmp.Or(tokenFile, cfg.Web.BearerTokenFile)
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	tc := &tls.Config{InsecureSkipVerify: true} // our own listener, as healthcheck
	if ca := flag(c, "tls.ca-file"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls.ca-file %s: no certificate", ca)
		}
		tc = &tls.Config{RootCAs: pool}
	}
	if cert := flag(c, "tls.cert-file"); cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, flag(c, "tls.key-file"))
		if err != nil {
			return nil, fmt.Errorf("--tls.cert-file: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	cl := &ctlClient{
		client: &http.Client{Timeout: c.Duration("timeout"), Transport: &http.Transport{Proxy: nil, TLSClientConfig: tc}},
		header: http.Header{},
	}
	if tokenFile != "" {
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("bearer token: %w", err)
		}
		cl.header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	if user := flag(c, "username"); user != "" {
		pw, err := os.ReadFile(flag(c, "password-file"))
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		req := &http.Request{Header: http.Header{}}
		req.SetBasicAuth(user, strings.TrimRight(string(pw), "\r\n"))
		cl.header.Set("Authorization", req.Header.Get("Authorization"))
	}
	// Plain HTTP or TLS: a TLS listener answers plain HTTP with 400 "HTTPS".
	target := net.JoinHostPort(host, port)
	cl.base = "http://" + target
	if status, body, err := get(cl.client, cl.base+"/-/healthy"); err == nil && status == http.StatusBadRequest && strings.Contains(body, "HTTPS") {
		cl.base = "https://" + target
	}
	return cl, nil
}

func (cl *ctlClient) do(method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, cl.base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range cl.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	return cl.client.Do(req)
}

// exitFor turns an error answer into ctl's exit code and message.
func exitFor(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(b))
	var res gateway.ActionResult
	if json.Unmarshal(b, &res) == nil && res.Error != "" {
		msg = res.Error
	}
	code := ctlFailed
	switch resp.StatusCode {
	case http.StatusNotFound:
		code = ctlUnknown
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict:
		code = ctlRefused
	}
	return cli.Exit(fmt.Sprintf("corral ctl: %d %s: %s", resp.StatusCode, http.StatusText(resp.StatusCode), msg), code)
}

func (cl *ctlClient) post(w io.Writer, name, action, sig string) error {
	path := "/-/processes/" + url.PathEscape(name) + "/" + action
	if sig != "" {
		path += "?signal=" + url.QueryEscape(sig)
	}
	resp, err := cl.do("POST", path)
	if err != nil {
		return cli.Exit("corral ctl: "+err.Error(), ctlFailed)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return exitFor(resp)
	}
	done := map[string]string{"start": "started", "stop": "stopped", "restart": "restarted", "signal": "signalled " + strings.ToUpper(sig)}
	fmt.Fprintf(w, "%s: %s\n", name, done[action])
	return nil
}

func (cl *ctlClient) status(w io.Writer, output string) error {
	if output != "text" && output != "json" {
		return cli.Exit(fmt.Sprintf("corral ctl status: --output %q is not one of text, json", output), ctlUsage)
	}
	resp, err := cl.do("GET", "/-/processes")
	if err != nil {
		return cli.Exit("corral ctl: "+err.Error(), ctlFailed)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return exitFor(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var procs []gateway.ProcessStatus
	if err == nil {
		err = json.Unmarshal(b, &procs)
	}
	if err != nil {
		return cli.Exit("corral ctl: the status: "+err.Error(), ctlFailed)
	}
	if output == "json" {
		_, err := w.Write(b)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tUPTIME\tRESTARTS\tLAST EXIT\tCPU\tMEMORY\tREASON")
	for _, p := range procs {
		pid, exit := "-", "-"
		if p.PID != 0 {
			pid = fmt.Sprint(p.PID)
		}
		if p.LastExitCode != nil {
			exit = fmt.Sprint(*p.LastExitCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", p.Name, p.State, pid, cmp.Or(p.UptimeText(), "-"), p.Restarts, exit,
			cmp.Or(p.CPUText(), "-"), cmp.Or(p.MemoryText(), "-"), p.Reason)
	}
	return tw.Flush()
}

// logs prints a process's recent output, one line each; with follow, it
// then long-polls for more until interrupted.
func (cl *ctlClient) logs(w io.Writer, name string, follow bool) error {
	var after uint64
	for {
		path := fmt.Sprintf("/-/processes/%s/output?after=%d", url.PathEscape(name), after)
		if follow { // a long poll that ends well within the client's timeout
			path += "&wait=" + min(20*time.Second, max(time.Second, cl.client.Timeout/2)).String()
		}
		resp, err := cl.do("GET", path)
		if err != nil {
			return cli.Exit("corral ctl: "+err.Error(), ctlFailed)
		}
		if resp.StatusCode != http.StatusOK {
			defer resp.Body.Close()
			return exitFor(resp)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var l tail.Line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				resp.Body.Close()
				return cli.Exit("corral ctl: a line of output: "+err.Error(), ctlFailed)
			}
			fmt.Fprintln(w, l.Text)
			after = l.Seq
		}
		resp.Body.Close()
		if !follow {
			return nil
		}
	}
}
