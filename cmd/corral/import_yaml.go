package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v3"
)

// yamlDoc reads a peer's YAML strictly for corral import: every key is
// known, every value has the type the peer expects, and every problem is
// reported as "FILE: path.to.key: problem", all of them, not just the first.
//
// It reads the file as both peers' YAML library (yaml.v3) does: an alias is
// the value its anchor names, a `<<` merge key brings in the keys of the
// mapping (or mappings) it names, a key written twice in one mapping is an
// error, and a scalar read as a string is its text as written (`0123`, not
// 83). A document whose aliases expand to far more values than it writes
// (a "billion laughs") is refused as yaml.v3 refuses it: yaml.v3's limit
// holds only while it decodes into Go values, not into the yaml.Nodes the
// reader walks, following aliases itself.
type yamlDoc struct {
	file  string
	errs  []error
	notes []string // about the file, for the draft
	// merged holds each mapping with its merge keys resolved, so that a
	// mapping reached through several aliases is resolved (and its problems
	// reported) once; a nil entry is one being resolved.
	merged map[*yaml.Node][]ypair
	// reads counts the values read, aliased those of them reached through
	// an alias (see count); excessive is set once there were too many.
	reads, aliased int
	excessive      bool
}

// ypair is one key of a mapping, merged or written, and its value;
// aliased when it was merged from an alias.
type ypair struct {
	key     string
	value   *yaml.Node
	aliased bool
}

// ynode is one value of the document and where it is.
type ynode struct {
	doc  *yamlDoc
	path string
	key  string     // its key in the mapping that holds it, as written; "" for the top and list items
	n    *yaml.Node // nil when the key is absent or null; never an alias
	// aliased: reached through an alias (a merge of one, a default applied),
	// as are all the values below it.
	aliased bool
}

// readYAML parses file; a file that is not YAML is one error with its line.
// Like the peers, it reads the first YAML document only.
func readYAML(file string) (ynode, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return ynode{}, err
	}
	doc := &yamlDoc{file: file, merged: map[*yaml.Node][]ypair{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return ynode{}, fmt.Errorf("%s: not valid YAML: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if dec.Decode(&next) == nil && len(next.Content) > 0 && (ynode{doc: doc}).node("", "", next.Content[0]).n != nil {
		doc.notes = append(doc.notes, fmt.Sprintf("%s holds more than one YAML document; the peer read the first only, and so did the import.", file))
	}
	var top *yaml.Node
	if len(root.Content) > 0 {
		top = root.Content[0]
	}
	return (ynode{doc: doc}).node("", "", top), nil
}

// node is the value v at path below n, an alias followed to its anchor; a
// null is no value, as for a key left out (both peers read it so).
func (n ynode) node(path, key string, v *yaml.Node) ynode {
	aliased := n.aliased
	for v != nil && v.Kind == yaml.AliasNode {
		v, aliased = v.Alias, true
	}
	if v != nil && (v.Kind == 0 || (v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null")) {
		v = nil
	}
	return ynode{doc: n.doc, path: path, key: key, n: v, aliased: aliased}.count()
}

// again is n read once more, as if through an alias of it: a default
// applied to one more value.
func (n ynode) again() ynode {
	n.aliased = true
	return n.count()
}

// count records that n is read, and refuses the document, as yaml.v3
// refuses it, when most of what was read came through aliases: yaml.v3
// counts every value it decodes and those it decodes through an alias, and
// fails past 1,000 values with over 100 aliased when the share aliased is
// above allowedAliasRatio. The refusal is the document's only error (it
// is yaml.v3's, before any of the peer's); from then on every value reads
// as absent, so that nothing more is expanded.
func (n ynode) count() ynode {
	d := n.doc
	d.reads++
	if n.aliased {
		d.aliased++
	}
	if !d.excessive && d.aliased > 100 && d.reads > 1000 && float64(d.aliased)/float64(d.reads) > allowedAliasRatio(d.reads) {
		d.excessive = true
		where := cmp.Or(n.path, "(top level)")
		d.errs = []error{fmt.Errorf("%s: %s: document contains excessive aliasing: its aliases, merge keys and defaults expand to far more values than it writes (yaml.v3, the peer's YAML library, refuses such aliasing)", d.file, where)}
	}
	if d.excessive {
		n.n = nil
	}
	return n
}

// allowedAliasRatio is yaml.v3's (decode.go): the share of the values
// decoded that may come through aliases, 99% up to 400,000 values, falling
// to 10% at 4,000,000.
func allowedAliasRatio(reads int) float64 {
	const low, high = 400_000, 4_000_000
	switch {
	case reads <= low:
		return 0.99
	case reads >= high:
		return 0.10
	default:
		return 0.99 - 0.89*(float64(reads-low)/float64(high-low))
	}
}

// errorf records a problem with n, named by its path.
func (n ynode) errorf(format string, args ...any) {
	if n.doc.excessive {
		return // the refusal says it all
	}
	where := n.path
	if where == "" {
		where = "(top level)"
	}
	n.doc.errs = append(n.doc.errs, fmt.Errorf("%s: %s: %s", n.doc.file, where, fmt.Sprintf(format, args...)))
}

func (d *yamlDoc) err() error { return errors.Join(d.errs...) }

func (n ynode) present() bool { return n.n != nil }

// child is the path of key in n. A key that would make the path ambiguous
// (a '.' in it, a ':', which ends the path in an error) or break the line
// of its error (a newline, any character that does not print) is quoted:
// modules."node.v2".http.
func (n ynode) child(key string) string {
	if key == "" || strings.ContainsAny(key, `."[]:`) || strings.ContainsFunc(key, notPrintable) {
		key = strconv.Quote(key)
	}
	if n.path == "" {
		return key
	}
	return n.path + "." + key
}

// fields is n as a mapping whose keys are all in known, by key; an unknown
// key or a value that is not a mapping is reported.
func (n ynode) fields(known ...string) map[string]ynode {
	out := map[string]ynode{}
	for _, k := range known {
		out[k] = ynode{doc: n.doc, path: n.child(k), key: k}
	}
	for _, c := range n.mapping() {
		switch {
		case len(known) == 0:
			c.errorf("unknown key (nothing is known here)")
		case !slices.Contains(known, c.key):
			c.errorf("unknown key (known here: %s)", strings.Join(known, ", "))
		default:
			out[c.key] = c
		}
	}
	return out
}

// entries is n as a mapping of names to values, in the order written.
func (n ynode) entries() []ynode { return n.mapping() }

// mapping is n's keys and values in the order written, merge keys resolved
// (see pairs); nil (reported) when n is something else than a mapping. An
// empty value is an empty mapping.
func (n ynode) mapping() []ynode {
	if n.n == nil {
		return nil
	}
	if n.n.Kind != yaml.MappingNode {
		n.errorf("want a mapping, have %s", describe(n.n))
		return nil
	}
	var out []ynode
	for _, p := range n.pairs(n.n) {
		parent := n
		parent.aliased = n.aliased || p.aliased
		out = append(out, parent.node(n.child(p.key), p.key, p.value))
	}
	return out
}

// pairs is mapping m (n itself, or one it merges) as yaml.v3 reads it into
// a struct or a map. A key written twice is an error. `<<: *a` brings in
// every key of the mapping a names that m does not write itself, wherever
// m writes it; `<<: [*a, *b]` the keys of each, in turn, a key of a
// winning over the same key of b. A merged mapping's own merge keys are
// resolved first. The merged keys take the place of the `<<`.
func (n ynode) pairs(m *yaml.Node) []ypair {
	if ps, ok := n.doc.merged[m]; ok {
		if ps == nil {
			n.errorf("<<: merges a mapping that holds it (yaml.v3 refuses a value that contains itself)")
		}
		return ps
	}
	n.doc.merged[m] = nil
	written := map[string]int{} // key: its line
	keys := make([]string, len(m.Content)/2)
	good := make([]bool, len(keys))
	for i := range keys {
		k := m.Content[2*i]
		keys[i], good[i] = n.keyText(k)
		if line, dup := written[keys[i]]; dup && good[i] {
			ynode{doc: n.doc, path: n.child(keys[i])}.errorf("given twice (lines %d and %d)", line, k.Line)
		} else if good[i] {
			written[keys[i]] = k.Line
		}
	}
	out := []ypair{}
	taken := map[string]bool{}
	for i, key := range keys {
		k, v := m.Content[2*i], m.Content[2*i+1]
		switch {
		case !good[i] || taken[key]:
		case !isMergeKey(k):
			taken[key] = true
			out = append(out, ypair{key, v, false})
		default:
			taken[key] = true
			for _, from := range n.mergeSources(v) {
				for _, p := range n.pairs(from.n) {
					if _, over := written[p.key]; !over && !taken[p.key] {
						taken[p.key] = true
						out = append(out, ypair{p.key, p.value, p.aliased || from.aliased})
					}
				}
			}
		}
	}
	n.doc.merged[m] = out
	return out
}

// mergeSources is the mapping or mappings the value v of a `<<` key names:
// a mapping, or a list written there of mappings; anything else (an alias
// of a list too) is reported, as yaml.v3 refuses it.
func (n ynode) mergeSources(v *yaml.Node) []ynode {
	c := n.node(n.child("<<"), "<<", v)
	want := "want a mapping or a list of mappings to merge (as yaml.v3 requires), have %s"
	switch {
	case c.n == nil:
		c.errorf(want, "nothing")
		return nil
	case c.n.Kind == yaml.MappingNode:
		return []ynode{c}
	case c.n.Kind != yaml.SequenceNode:
		c.errorf(want, describe(c.n))
		return nil
	case v.Kind == yaml.AliasNode:
		c.errorf(want, "an alias of a list (write the list here)")
		return nil
	}
	var out []ynode
	for i, e := range c.n.Content {
		ec := c.node(fmt.Sprintf("%s[%d]", c.path, i), "", e)
		if ec.n == nil || ec.n.Kind != yaml.MappingNode {
			ec.errorf(want, describe(ec.n))
			continue
		}
		out = append(out, ec)
	}
	return out
}

// isMergeKey tells whether k is a `<<` merge key, as yaml.v3 tells it: a
// `<<` written plain or tagged !!merge ("<<" quoted is a key like another).
func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// keyText is key k as yaml.v3 reads it into a string: its text; a key that
// is a mapping or a list is reported.
func (n ynode) keyText(k *yaml.Node) (string, bool) {
	kn := n.node(n.path, "", k)
	if kn.n == nil {
		return "", true
	}
	var s string
	if kn.n.Kind != yaml.ScalarNode || kn.n.Decode(&s) != nil {
		n.errorf("a key that is %s (line %d): want a name", describe(kn.n), k.Line)
		return "", false
	}
	return s, true
}

// list is n as a sequence; nil (reported) when it is something else.
func (n ynode) list() []ynode {
	if n.n == nil {
		return nil
	}
	if n.n.Kind != yaml.SequenceNode {
		n.errorf("want a list, have %s", describe(n.n))
		return nil
	}
	out := make([]ynode, len(n.n.Content))
	for i, v := range n.n.Content {
		out[i] = n.node(fmt.Sprintf("%s[%d]", n.path, i), "", v)
	}
	return out
}

// decode reads n into v as yaml.v3 reads it into a field of v's type;
// false (reported with want) when it cannot.
func (n ynode) decode(v any, want string) bool {
	if n.n.Kind == yaml.ScalarNode && n.n.Decode(v) == nil {
		return true
	}
	n.errorf("want %s, have %s", want, describe(n.n))
	return false
}

// str is n as a string: a scalar's text as written, as both peers' YAML
// library reads it into a string.
func (n ynode) str() string {
	var s string
	if n.n != nil {
		n.decode(&s, "a string")
	}
	return s
}

func (n ynode) integer() int {
	var i int
	if n.n != nil {
		n.decode(&i, "a whole number")
	}
	return i
}

func (n ynode) boolean() bool {
	var b bool
	if n.n != nil {
		n.decode(&b, "true or false")
	}
	return b
}

// strList is n as a list of strings.
func (n ynode) strList() []string {
	var out []string
	for _, c := range n.list() {
		out = append(out, c.str())
	}
	return out
}

// strMap is n as a mapping of strings to strings, in the order written,
// each key as written.
func (n ynode) strMap() [][2]string {
	var out [][2]string
	for _, c := range n.entries() {
		out = append(out, [2]string{c.key, c.str()})
	}
	return out
}

// goDuration is n as Go's time.ParseDuration reads it ("1m30s"), as
// exporter_exporter's YAML library reads a time.Duration. A bare number,
// which it refuses, is refused.
func (n ynode) goDuration() time.Duration {
	if n.n == nil {
		return 0
	}
	if n.n.Kind != yaml.ScalarNode || n.n.ShortTag() != "!!str" {
		n.errorf("want a duration with a unit, such as \"5s\"; have %s", describe(n.n))
		return 0
	}
	d, err := time.ParseDuration(n.n.Value)
	if err != nil || d < 0 {
		n.errorf("want a duration such as \"5s\", have %q", n.n.Value)
	}
	return d
}

// promDuration is n as Prometheus reads a duration ("30s", "1d"), as
// reverse_exporter does.
func (n ynode) promDuration() time.Duration {
	if n.n == nil {
		return 0
	}
	s := n.str()
	d, err := model.ParseDuration(s)
	if err != nil {
		n.errorf("want a duration such as \"30s\", have %q", s)
	}
	return time.Duration(d)
}

// describe is v for an error: a string quoted, as is any value with a
// character that does not print (a newline would break the error's line).
func describe(v *yaml.Node) string {
	switch {
	case v == nil:
		return "nothing"
	case v.Kind == yaml.MappingNode:
		return "a mapping"
	case v.Kind == yaml.SequenceNode:
		return "a list"
	case v.ShortTag() == "!!str" || strings.ContainsFunc(v.Value, notPrintable):
		return strconv.Quote(v.Value)
	default:
		return v.Value
	}
}

func notPrintable(r rune) bool { return !strconv.IsPrint(r) }
