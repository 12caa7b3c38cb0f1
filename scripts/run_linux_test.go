package scripts

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// TestBadScripts runs scripts that misbehave. Each must fail (or, for the
// one that leaves a grandchild, succeed) quickly with the exact error, leave
// no process behind, and not break the next run.
func TestBadScripts(t *testing.T) {
	reaper := startReaper(t)
	for _, tc := range []struct {
		script  string
		timeout time.Duration
		want    string // the error, or the body when wantErr is ""
		reason  string // "" for success
		result  string
		within  time.Duration // the scrape must answer within this
		pidFile bool          // the script writes a pid that must be gone after
	}{
		{"forever.sh", time.Second, `script "forever.sh": timed out after 1s`, source.ReasonTimeout, resultTimeout, 10 * time.Second, true},
		{"stubborn.sh", time.Second, `script "stubborn.sh": timed out after 1s`, source.ReasonTimeout, resultTimeout, 15 * time.Second, true},
		{"fork.sh", time.Minute, "forked 1\n", "", resultOK, 15 * time.Second, true},
		{"huge.sh", time.Minute, `script "huge.sh": output exceeds 1048576 bytes`, source.ReasonInvalid, resultInvalid, 15 * time.Second, true},
		{"garbage.sh", time.Minute, `script "garbage.sh": invalid output: line 1: `, source.ReasonInvalid, resultInvalid, 15 * time.Second, false},
		{"exit3.sh", time.Minute, `script "exit3.sh": exit status 3`, source.ReasonStatus, resultError, 15 * time.Second, false},
		{"notexec.sh", time.Minute, fmt.Sprintf(`script "notexec.sh": start: fork/exec %s: permission denied`, testdata(t, "notexec.sh")), source.ReasonRefused, resultError, 15 * time.Second, false},
		{"missing.sh", time.Minute, fmt.Sprintf(`script "missing.sh": start: fork/exec %s: no such file or directory`, testdata(t, "missing.sh")), source.ReasonRefused, resultError, 15 * time.Second, false},
	} {
		t.Run(tc.script, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			f := newScript(t, tc.script, Config{
				Command: []string{testdata(t, tc.script)},
				Timeout: duration.Of(tc.timeout),
				Env:     map[string]string{"PIDFILE": pidFile},
			}, Deps{Reaper: reaper, MaxOutputBytes: 1 << 20})

			start := time.Now()
			body, err := scrape(context.Background(), f.Script, nil)
			took := time.Since(start)
			have := body
			if err != nil {
				have = err.Error()
			}
			if tc.reason == "" && (err != nil || have != tc.want) || tc.reason != "" && !strings.HasPrefix(have, tc.want) {
				t.Errorf("want %q, have %q", tc.want, have)
			}
			if tc.reason != "" && source.ReasonOf(err) != tc.reason {
				t.Errorf("want reason %q, have %q", tc.reason, source.ReasonOf(err))
			}
			if took > tc.within {
				t.Errorf("want an answer within %s, have %s", tc.within, took)
			}
			if have := f.runs(tc.result); have != 1 {
				t.Errorf("want 1 run with result %q, have %d", tc.result, have)
			}
			if tc.pidFile {
				waitGone(t, readPid(t, pidFile))
			}
			waitNoChildren(t)
		})
	}

	// Nothing else broke: a good script still runs on the same reaper.
	f := newScript(t, "after", Config{
		Command: []string{testdata(t, "counter.sh")},
		Env:     map[string]string{"COUNTER": filepath.Join(t.TempDir(), "counter")},
	}, Deps{Reaper: reaper})
	if body, err := scrape(context.Background(), f.Script, nil); err != nil || !strings.HasSuffix(body, "script_runs 1\n") {
		t.Errorf("good script after the bad ones: have %q, %v", body, err)
	}
}

func TestScrapeDeadlineCapsTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	f := newScript(t, "forever", Config{
		Command: []string{testdata(t, "forever.sh")},
		Timeout: duration.Of(time.Minute),
		Env:     map[string]string{"PIDFILE": pidFile},
	}, Deps{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := scrape(ctx, f.Script, nil)
	if took := time.Since(start); source.StatusOf(err) != 504 || took > 10*time.Second {
		t.Errorf("want 504 within 10s, have %d after %s: %v", source.StatusOf(err), took, err)
	}
	waitGone(t, readPid(t, pidFile))
	waitFor(t, "the run to be counted", func() bool { return f.runs(resultTimeout) == 1 })
}

func TestEnvironment(t *testing.T) {
	out := filepath.Join(t.TempDir(), "param")
	t.Setenv("CORRAL_PARAM_HOST", "inherited") // must not leak into a run
	t.Setenv("CORRAL_TEST_INHERITED", "yes")
	f := newScript(t, "env", Config{
		Command: []string{testdata(t, "env.sh")},
		Timeout: duration.Of(7 * time.Second),
		Params:  []string{"host"},
		Env:     map[string]string{"OUT": out, "EXTRA": "from config"},
	}, Deps{})

	before := time.Now()
	body, err := scrape(context.Background(), f.Script, url.Values{"host": {"example.org"}, "other": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		k, v, _ := strings.Cut(line, " ")
		got[k] = v
	}
	deadline, _ := strconv.ParseInt(got["corral_deadline"], 10, 64)
	timeout, _ := strconv.ParseFloat(got["corral_timeout"], 64)
	for _, c := range []struct {
		what string
		ok   bool
		have string
	}{
		{"param_host_bytes 11", got["param_host_bytes"] == "11", got["param_host_bytes"]},
		{"stdin_bytes 0", got["stdin_bytes"] == "0", got["stdin_bytes"]},
		{"args 0", got["args"] == "0", got["args"]},
		{"extra_env from config", got[`extra_env{value="from`] == `config"} 1`, body},
		{"CORRAL_TIMEOUT in (6, 7]", timeout > 6 && timeout <= 7, got["corral_timeout"]},
		{"CORRAL_DEADLINE about now+7s", deadline >= before.Unix()+6 && deadline <= time.Now().Unix()+7, got["corral_deadline"]},
		{"no stderr in metrics", !strings.Contains(body, "stderr"), body},
	} {
		if !c.ok {
			t.Errorf("want %s, have %q", c.what, c.have)
		}
	}
	if logs := f.logs.String(); !strings.Contains(logs, `msg="a word on stderr" script=env stream=stderr`) {
		t.Errorf("want stderr logged with the script's name, have %q", logs)
	}

	// Without the parameter (the merged path) the inherited value is not seen.
	if _, err := scrape(context.Background(), f.Script, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); len(b) != 0 {
		t.Errorf("merged path: want no CORRAL_PARAM_HOST, have %q", b)
	}
}

func TestStderrIsBounded(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "noisy.sh")
	body := "#!/bin/sh\ni=0\nwhile [ $i -lt 500 ]; do echo line $i >&2; i=$((i+1)); done\nhead -c 10000 /dev/zero | tr '\\0' x >&2\necho\necho ok 1\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newScript(t, "noisy", Config{Command: []string{script}}, Deps{})
	if _, err := scrape(context.Background(), f.Script, nil); err != nil {
		t.Fatal(err)
	}
	logs := f.logs.String()
	if have := strings.Count(logs, "stream=stderr"); have != maxStderrLines+1 {
		t.Errorf("want %d stderr log lines (the last saying the rest is dropped), have %d", maxStderrLines+1, have)
	}
}

// TestReadBoundedLateDeadline: output already in the pipe when the read
// deadline has passed (the reader was not scheduled in time on a busy
// machine) is still read; a pipe with nothing coming is still late.
func TestReadBoundedLateDeadline(t *testing.T) {
	for _, tc := range []struct {
		name    string
		closed  bool
		want    string
		wantErr bool
	}{
		{"output waiting, writer gone", true, "up 1\n", false},
		{"writer still open, nothing more", false, "up 1\n", true},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString("up 1\n")
		if tc.closed {
			w.Close()
		}
		r.SetReadDeadline(time.Now().Add(-time.Second))
		c := readBounded(r, 1<<20)
		if string(c.body) != tc.want || (c.err != nil) != tc.wantErr {
			t.Errorf("%s: want %q (error %v), have %q (%v)", tc.name, tc.want, tc.wantErr, c.body, c.err)
		}
		r.Close()
		w.Close()
	}
}
