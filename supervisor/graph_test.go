package supervisor

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestValidateGraph(t *testing.T) {
	p := func(deps ...string) ProcessConfig { return ProcessConfig{DependsOn: deps} }
	task := func(deps ...string) TaskConfig { return TaskConfig{DependsOn: deps} }
	for _, tc := range []struct {
		name  string
		procs map[string]ProcessConfig
		tasks map[string]TaskConfig
		want  string
	}{
		{"none", nil, nil, ""},
		{"chain", map[string]ProcessConfig{"a": p(), "b": p("a"), "c": p("a", "b")}, nil, ""},
		{"unknown", map[string]ProcessConfig{"a": p("x")}, nil, `process.a.depends_on: no process or task named "x"`},
		{"process on task", map[string]ProcessConfig{"a": p("t")}, map[string]TaskConfig{"t": task()}, ""},
		{"unknown and cycle", map[string]ProcessConfig{"a": p("b", "x"), "b": p("a")}, nil,
			"process.a.depends_on: no process or task named \"x\"\nprocess.a.depends_on: cycle a -> b -> a"},
		{"itself", map[string]ProcessConfig{"a": p("a")}, nil, `process.a.depends_on: "a" depends on itself`},
		{"cycle", map[string]ProcessConfig{"a": p("c"), "b": p("a"), "c": p("b"), "d": p()}, nil, `process.a.depends_on: cycle a -> c -> b -> a`},
		{"task on process", map[string]ProcessConfig{"a": p()}, map[string]TaskConfig{"t": task("a")}, `task.t.depends_on: no task named "a"`},
		{"task cycle", nil, map[string]TaskConfig{"t": task("u"), "u": task("t")}, `task.t.depends_on: cycle t -> u -> t`},
		{"both", map[string]ProcessConfig{"a": p("x")}, map[string]TaskConfig{"t": task("y")},
			"process.a.depends_on: no process or task named \"x\"\ntask.t.depends_on: no task named \"y\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := ""
			if err := ValidateGraph(tc.procs, tc.tasks); err != nil {
				have = err.Error()
			}
			if have != tc.want {
				t.Errorf("want %q, have %q", tc.want, have)
			}
		})
	}
}

func TestOrder(t *testing.T) {
	have, cycle := order(map[string][]string{"web": {"db", "cache"}, "cache": nil, "db": nil, "agent": {"web"}, "zz": nil})
	want := "cache,db,web,agent,zz"
	if cycle != nil || strings.Join(have, ",") != want {
		t.Errorf("want %s, have %v (cycle %v)", want, have, cycle)
	}
}
