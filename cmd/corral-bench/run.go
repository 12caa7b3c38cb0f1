package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is a process the bench started.
type proc struct {
	cmd  *exec.Cmd
	line string // its first line of output (upstream, floor)
}

func (p *proc) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// startReporting starts a process that prints its address first.
func startReporting(name string, args ...string) (*proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = dieWithUs()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	p.line = strings.TrimSpace(line)
	return p, nil
}

// dieWithUs has a child killed when the bench ends, however it ends.
func dieWithUs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

// freeAddr is a loopback address nothing listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startCorral starts bin with config (a TOML text without [web]) on a free
// port and waits until it answers.
func startCorral(bin, dir, name, config string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	file := filepath.Join(dir, name+".toml")
	config = fmt.Sprintf("[web]\nlisten_address = %q\nmerge_self = false\n\n%s", addr, config)
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, "--config.file", file, "--log.level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = dieWithUs()
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	p := &proc{cmd: cmd}
	base := "http://" + addr
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/-/healthy")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, base, nil
			}
		}
		if time.Now().After(end) {
			p.stop()
			return nil, "", fmt.Errorf("%s did not answer on %s within 20s", bin, addr)
		}
	}
}

// upstreams are the bench's exporters: big (8.3 MB, 100,000 series),
// s1..s3 (~83 KB, ~1,000 series each, colliding go_* families) and tiny.
type upstreams struct {
	big, s1, s2, s3, tiny string // URLs
	sizes                 map[string]string
	procs                 []*proc
}

func startUpstreams(self string) (*upstreams, error) {
	u := &upstreams{sizes: map[string]string{}}
	for _, s := range []struct {
		dst  *string
		args []string
	}{
		{&u.big, []string{"-series", "100000", "-prefix", "big"}},
		{&u.s1, []string{"-series", "980", "-prefix", "one", "-go"}},
		{&u.s2, []string{"-series", "980", "-prefix", "two", "-go"}},
		{&u.s3, []string{"-series", "980", "-prefix", "three", "-go"}},
		{&u.tiny, []string{"-series", "20", "-prefix", "tiny", "-go"}},
	} {
		p, err := startReporting(self, append([]string{"upstream"}, s.args...)...)
		if err != nil {
			u.stop()
			return nil, err
		}
		u.procs = append(u.procs, p)
		addr, size, _ := strings.Cut(p.line, " ")
		*s.dst = "http://" + addr + "/metrics"
		u.sizes[*s.dst] = size
	}
	return u, nil
}

func (u *upstreams) stop() {
	for _, p := range u.procs {
		p.stop()
	}
}

// configs are the two corral configurations each binary runs: a for the
// /proxy cases and the merge of three small sources, b for the merge of the
// big source and a tiny one.
func (u *upstreams) configs() (a, b string) {
	src := func(name, url string, merge, verify bool) string {
		return fmt.Sprintf("[exporter.%s]\nurl = %q\nmerge = %v\nverify = %v\n\n", name, url, merge, verify)
	}
	a = src("s1", u.s1, true, true) + src("s2", u.s2, true, true) + src("s3", u.s3, true, true) +
		src("big_v", u.big, false, true) + src("big_nv", u.big, false, false) +
		src("s1_v", u.s1, false, true) + src("s1_nv", u.s1, false, false)
	b = src("big", u.big, true, true) + src("tiny", u.tiny, true, true)
	return a, b
}

// run starts everything, measures every case and prints the table.
func run(bins binaries, n, warm int, only string, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "corral-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ups, err := startUpstreams(self)
	if err != nil {
		return err
	}
	defer ups.stop()
	floor, err := startReporting(self, "floor")
	if err != nil {
		return err
	}
	defer floor.stop()
	floorPid := floor.cmd.Process.Pid
	relay := func(urls ...string) string {
		q := make([]string, len(urls))
		for i, u := range urls {
			q[i] = "u=" + u
		}
		return "http://" + floor.line + "/relay?" + strings.Join(q, "&")
	}

	cfgA, cfgB := ups.configs()
	type gw struct {
		name   string
		a, b   string // base URLs
		pa, pb int    // pids
	}
	var gws []gw
	for _, spec := range bins {
		name, bin, ok := strings.Cut(spec, "=")
		if !ok {
			name, bin = filepath.Base(spec), spec
		}
		pa, a, err := startCorral(bin, dir, name+"-a", cfgA)
		if err != nil {
			return err
		}
		defer pa.stop()
		pb, b, err := startCorral(bin, dir, name+"-b", cfgB)
		if err != nil {
			return err
		}
		defer pb.stop()
		gws = append(gws, gw{name, a, b, pa.cmd.Process.Pid, pb.cmd.Process.Pid})
	}

	var cases []*benchCase
	add := func(c *benchCase, corral func(g gw) contender) {
		if only != "" && !strings.Contains(c.name, only) {
			return
		}
		for _, g := range gws {
			k := corral(g)
			k.name = g.name
			c.contenders = append(c.contenders, k)
		}
		cases = append(cases, c)
	}
	proxy := func(name, module, up string, target float64) {
		add(&benchCase{name: name, target: target, contenders: []contender{
			{name: "direct", urls: []string{up}},
			{name: "floor", urls: []string{relay(up)}, pid: floorPid},
		}}, func(g gw) contender { return contender{urls: []string{g.a + "/proxy?module=" + module}, pid: g.pa} })
	}
	merged := func(name, base string, target float64, ups ...string) {
		add(&benchCase{name: name, target: target, contenders: []contender{
			{name: "direct", urls: ups},
			{name: "floor", urls: []string{relay(ups...)}, pid: floorPid},
		}}, func(g gw) contender {
			b, pid := g.a, g.pa
			if base == "b" {
				b, pid = g.b, g.pb
			}
			return contender{urls: []string{b + "/metrics"}, pid: pid}
		})
	}
	proxy("/proxy verify=true, 8.3 MB", "big_v", ups.big, 1.6)
	proxy("/proxy verify=false, 8.3 MB", "big_nv", ups.big, 0)
	proxy("/proxy verify=true, 83 KB", "s1_v", ups.s1, 1.5)
	proxy("/proxy verify=false, 83 KB", "s1_nv", ups.s1, 1.2)
	merged("merged 3 × 83 KB", "a", 1.3, ups.s1, ups.s2, ups.s3)
	merged("merged 8.3 MB + 2 KB", "b", 1.8, ups.big, ups.tiny)

	start := machine()
	began := time.Now()
	if err := measure(cases, n, warm); err != nil {
		return err
	}
	report(out, cases, ups.sizes, start, machine(), n, time.Since(began))
	return nil
}

// machine describes where and when the bench ran, and the load.
func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	host, _ := os.Hostname()
	return fmt.Sprintf("%s, %s, %d CPUs (%s), load %s", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		cmp.Or(host, "?"), numCPU(), cpu, strings.Join(strings.Fields(string(load))[:3], " "))
}
