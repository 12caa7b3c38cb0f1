package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v2"
)

// yamlDoc reads a peer's YAML strictly for corral import: every key is
// known, every value has the type the peer expects, and every problem is
// reported as "FILE: path.to.key: problem", all of them, not just the first.
type yamlDoc struct {
	file string
	errs []error
}

// ynode is one value of the document and where it is.
type ynode struct {
	doc  *yamlDoc
	path string
	v    any // nil when the key is absent
}

// readYAML parses file; a file that is not YAML is one error with its line.
func readYAML(file string) (ynode, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return ynode{}, err
	}
	doc := &yamlDoc{file: file}
	var root yaml.MapSlice
	if err := yaml.Unmarshal(data, &root); err != nil {
		return ynode{}, fmt.Errorf("%s: not valid YAML: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return ynode{doc: doc, v: root}, nil
}

// errorf records a problem with n, named by its path.
func (n ynode) errorf(format string, args ...any) {
	where := n.path
	if where == "" {
		where = "(top level)"
	}
	n.doc.errs = append(n.doc.errs, fmt.Errorf("%s: %s: %s", n.doc.file, where, fmt.Sprintf(format, args...)))
}

func (d *yamlDoc) err() error { return errors.Join(d.errs...) }

func (n ynode) present() bool { return n.v != nil }

func (n ynode) child(key string) string {
	if n.path == "" {
		return key
	}
	return n.path + "." + key
}

// fields is n as a mapping whose keys are all in known, by key; an unknown
// key, a key given twice or a value that is not a mapping is reported.
func (n ynode) fields(known ...string) map[string]ynode {
	out := map[string]ynode{}
	for _, k := range known {
		out[k] = ynode{doc: n.doc, path: n.child(k)}
	}
	for _, item := range n.mapping() {
		key := fmt.Sprint(item.Key)
		c := ynode{doc: n.doc, path: n.child(key), v: item.Value}
		switch {
		case len(known) == 0:
			c.errorf("unknown key (nothing is known here)")
		case !slices.Contains(known, key):
			c.errorf("unknown key (known here: %s)", strings.Join(known, ", "))
		case out[key].v != nil:
			c.errorf("given twice")
		default:
			out[key] = c
		}
	}
	return out
}

// mapping is n's items in the order written; nil (reported) when n is
// something else than a mapping. An empty value is an empty mapping.
func (n ynode) mapping() yaml.MapSlice {
	switch v := n.v.(type) {
	case nil:
		return nil
	case yaml.MapSlice:
		return v
	}
	n.errorf("want a mapping, have %s", describe(n.v))
	return nil
}

// entries is n as a mapping of names to values, in the order written.
func (n ynode) entries() []ynode {
	var out []ynode
	seen := map[string]bool{}
	for _, item := range n.mapping() {
		key := fmt.Sprint(item.Key)
		c := ynode{doc: n.doc, path: n.child(key), v: item.Value}
		if seen[key] {
			c.errorf("given twice")
			continue
		}
		seen[key] = true
		out = append(out, c)
	}
	return out
}

// name is the last element of n's path: a module's name.
func (n ynode) name() string {
	return n.path[strings.LastIndex(n.path, ".")+1:]
}

// list is n as a sequence; nil (reported) when it is something else.
func (n ynode) list() []ynode {
	if n.v == nil {
		return nil
	}
	l, ok := n.v.([]any)
	if !ok {
		n.errorf("want a list, have %s", describe(n.v))
		return nil
	}
	out := make([]ynode, len(l))
	for i, v := range l {
		out[i] = ynode{doc: n.doc, path: fmt.Sprintf("%s[%d]", n.path, i), v: v}
	}
	return out
}

// str is n as a string: YAML scalars are read as their text, as both
// peers' YAML libraries do for a string field.
func (n ynode) str() string {
	switch v := n.v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v)
	}
	n.errorf("want a string, have %s", describe(n.v))
	return ""
}

func (n ynode) integer() int {
	switch v := n.v.(type) {
	case nil:
		return 0
	case int:
		return v
	case string:
		if i, err := strconv.Atoi(v); err == nil {
			return i
		}
	}
	n.errorf("want a whole number, have %s", describe(n.v))
	return 0
}

func (n ynode) boolean() bool {
	switch v := n.v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	n.errorf("want true or false, have %s", describe(n.v))
	return false
}

// strList is n as a list of strings.
func (n ynode) strList() []string {
	var out []string
	for _, c := range n.list() {
		out = append(out, c.str())
	}
	return out
}

// strMap is n as a mapping of strings to strings, in the order written.
func (n ynode) strMap() [][2]string {
	var out [][2]string
	for _, c := range n.entries() {
		out = append(out, [2]string{c.name(), c.str()})
	}
	return out
}

// goDuration is n as Go's time.ParseDuration reads it ("1m30s"), as
// exporter_exporter's YAML library reads a time.Duration. A bare number is
// nanoseconds there, never what was meant: it is refused.
func (n ynode) goDuration() time.Duration {
	if n.v == nil {
		return 0
	}
	s, ok := n.v.(string)
	if !ok {
		n.errorf("want a duration with a unit, such as \"5s\"; have %s", describe(n.v))
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		n.errorf("want a duration such as \"5s\", have %q", s)
	}
	return d
}

// promDuration is n as Prometheus reads a duration ("30s", "1d"), as
// reverse_exporter does.
func (n ynode) promDuration() time.Duration {
	if n.v == nil {
		return 0
	}
	s := n.str()
	d, err := model.ParseDuration(s)
	if err != nil {
		n.errorf("want a duration such as \"30s\", have %q", s)
	}
	return time.Duration(d)
}

func describe(v any) string {
	switch v := v.(type) {
	case yaml.MapSlice:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return strconv.Quote(v)
	default:
		return fmt.Sprintf("%v", v)
	}
}
