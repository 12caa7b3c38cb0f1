package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/scripts"
	"github.com/corral-metrics/corral/source"
)

// TestSourcesAcrossReload: an unchanged source is the running one; a
// changed one is new; a file the configuration names is read on every
// reload, unchanged section or not; a script that leaves loses its series.
func TestSourcesAcrossReload(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("t"), 0o600); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "corral.toml")
	load := func(text string) *Config {
		t.Helper()
		if err := os.WriteFile(main, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(main, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	exp := "[exporter.e]\nurl = \"http://127.0.0.1:1/\"\nbearer_token_file = \"" + token + "\"\n"
	script := func(cmd string) string { return "[script.s]\ncommand = [\"" + cmd + "\"]\n" }

	reg := prometheus.NewRegistry()
	b := &sourceBuilder{deps: deps{scripts: scripts.Deps{Metrics: scripts.NewMetrics(reg)}}}
	apply := func(cfg *Config) map[string]built {
		t.Helper()
		_, next, err := b.build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b.adopt(next)
		return next
	}
	first := apply(load(exp + script("/bin/true")))
	same := apply(load(exp + script("/bin/true")))
	changed := apply(load(exp + script("/bin/false")))
	for _, tc := range []struct {
		what       string
		have, want bool
	}{
		{"unchanged exporter kept", same["e"].src == first["e"].src, true},
		{"unchanged script kept", same["s"].src == first["s"].src, true},
		{"changed script new", changed["s"].src == same["s"].src, false},
	} {
		if tc.have != tc.want {
			t.Errorf("%s: want %v, have %v", tc.what, tc.want, tc.have)
		}
	}

	if n := testutil.CollectAndCount(reg, "corral_script_runs_total"); n != 4 {
		t.Errorf("want the script's 4 series of runs, have %d", n)
	}
	os.Remove(token)
	if _, _, err := b.build(load(exp + script("/bin/false"))); err == nil || !strings.Contains(err.Error(), "exporter.e.bearer_token_file: open") {
		t.Errorf("unchanged exporter, token file gone: want the reload refused, have %v", err)
	}
	apply(load(""))
	if n := testutil.CollectAndCount(reg, "corral_script_runs_total"); n != 0 {
		t.Errorf("script gone: want none of its series left, have %d", n)
	}
}

// TestFileMtimeGoneAfterReload: a [file] source's
// corral_file_mtime_seconds goes when a reload removes the source, and a
// scrape of it still in flight then (admitted before the reload, opening
// the file after it) does not bring it back.
func TestFileMtimeGoneAfterReload(t *testing.T) {
	dir := t.TempDir()
	prom := filepath.Join(dir, "m.prom")
	if err := os.WriteFile(prom, []byte("m 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "corral.toml")
	load := func(text string) *Config {
		t.Helper()
		if err := os.WriteFile(main, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(main, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	reg := prometheus.NewRegistry()
	gw := gateway.New(gateway.Options{Registry: reg, Metrics: gateway.NewMetrics(reg, gateway.BuildInfo{})})
	b := &sourceBuilder{deps: deps{gateway: gw, scripts: scripts.Deps{Metrics: scripts.NewMetrics(reg)}}}
	apply := func(cfg *Config) map[string]built {
		t.Helper()
		mods, next, err := b.build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b.adopt(next)
		gw.SetModules(mods)
		return next
	}
	scrape := func(src source.Source) {
		t.Helper()
		resp, err := src.Scrape(context.Background(), source.Request{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	f := apply(load("[file.f]\npath = \"" + prom + "\"\n"))["f"].src
	scrape(f)
	if n := testutil.CollectAndCount(reg, "corral_file_mtime_seconds"); n != 1 {
		t.Fatalf("scraped: want the source's corral_file_mtime_seconds, have %d series", n)
	}
	apply(load(""))
	if n := testutil.CollectAndCount(reg, "corral_file_mtime_seconds"); n != 0 {
		t.Errorf("source removed: want no corral_file_mtime_seconds, have %d series", n)
	}
	scrape(f) // in flight across the reload
	if n := testutil.CollectAndCount(reg, "corral_file_mtime_seconds"); n != 0 {
		t.Errorf("a scrape in flight across the reload ended: want no corral_file_mtime_seconds, have %d series", n)
	}
}
