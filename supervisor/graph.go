package supervisor

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ValidateGraph checks the depends_on of every process and task: each name
// exists (a task depends on tasks; a process on processes, or on tasks,
// which are done before any process starts) and no chain of dependencies
// loops; and a process that starts with the appliance depends on none with
// autostart = false. Errors are prefixed with the key,
// e.g. "process.web.depends_on: ...".
func ValidateGraph(processes map[string]ProcessConfig, tasks map[string]TaskConfig) error {
	var errs []error
	pdeps := make(map[string][]string, len(processes))
	for _, name := range slices.Sorted(maps.Keys(processes)) {
		p := processes[name]
		pdeps[name] = p.DependsOn
		for _, d := range p.DependsOn {
			if q, ok := processes[d]; ok && p.autostart() && !q.autostart() {
				errs = append(errs, fmt.Errorf("process.%s.depends_on: %q has autostart = false, so %s would never start", name, d, name))
			}
		}
	}
	tdeps := make(map[string][]string, len(tasks))
	for name, t := range tasks {
		tdeps[name] = t.DependsOn
	}
	return errors.Join(append(errs, validateDeps("process", pdeps, tdeps), validateDeps("task", tdeps, nil))...)
}

// validateDeps reports unknown names, self-dependencies and cycles, in name
// order so that the message is the same on every run.
func validateDeps(kind string, deps, done map[string][]string) error {
	var errs []error
	names := slices.Sorted(maps.Keys(deps))
	for _, name := range names {
		for _, d := range deps[name] {
			switch {
			case d == name:
				errs = append(errs, fmt.Errorf("%s.%s.depends_on: %q depends on itself", kind, name, d))
			case !hasKey(deps, d) && !hasKey(done, d):
				what := kind
				if done != nil {
					what = kind + " or task"
				}
				errs = append(errs, fmt.Errorf("%s.%s.depends_on: no %s named %q", kind, name, what, d))
			}
		}
	}
	if _, cycle := order(deps); cycle != nil && len(cycle) > 2 { // a -> a is reported above
		errs = append(errs, fmt.Errorf("%s.%s.depends_on: cycle %s", kind, cycle[0], strings.Join(cycle, " -> ")))
	}
	return errors.Join(errs...)
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// order sorts names so that every name comes after its dependencies, ties
// broken by name. Unknown dependencies are ignored. When the graph has a
// cycle, order returns it (first name repeated at the end) instead.
func order(deps map[string][]string) ([]string, []string) {
	const (
		unseen = iota
		visiting
		done
	)
	state := make(map[string]int, len(deps))
	var out, stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case done:
			return nil
		case visiting:
			i := slices.Index(stack, n)
			return append(slices.Clone(stack[i:]), n)
		}
		state[n] = visiting
		stack = append(stack, n)
		ds := slices.Clone(deps[n])
		slices.Sort(ds)
		for _, d := range ds {
			if !hasKey(deps, d) {
				continue
			}
			if c := visit(d); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		out = append(out, n)
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(deps)) {
		if c := visit(n); c != nil {
			return nil, c
		}
	}
	return out, nil
}
