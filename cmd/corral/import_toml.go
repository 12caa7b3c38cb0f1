package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v2"
)

// draft is a corral configuration being imported: its sections in the order
// they are written, each setting with notes on what has no exact equivalent
// in corral and what was done instead, and the files it refers to that the
// import writes beside it (web config, password and token files).
type draft struct {
	from    string   // what was imported, for the header
	notes   []string // about the whole configuration
	web     draftSection
	sources []*draftSection
	ends    []*draftSection // [endpoint.NAME], after the sources
	names   map[string]bool // source names taken
	outDir  string          // where side files go
	webTLS  yaml.MapSlice   // tls_server_config of the web config, if any
	files   []sideFile
	// noLimitNoted: the note on the timeout of upstreams the peer gave
	// none is written.
	noLimitNoted bool
}

type draftSection struct {
	header   string // "web", "exporter.node"
	notes    []string
	settings []setting
}

type setting struct {
	key, value string // value is TOML already
	notes      []string
}

// sideFile is a file the configuration names, written by the import.
type sideFile struct {
	path string
	data []byte
	mode os.FileMode
	what string
}

func newDraft(from, outDir string) *draft {
	return &draft{from: from, outDir: outDir, web: draftSection{header: "web"}, names: map[string]bool{}}
}

// note adds a note about the whole configuration.
func (d *draft) note(format string, args ...any) {
	d.notes = append(d.notes, fmt.Sprintf(format, args...))
}

// source adds the section [KIND.NAME].
func (d *draft) source(kind, name string) *draftSection {
	s := &draftSection{header: kind + "." + tomlKey(name)}
	d.sources = append(d.sources, s)
	d.names[name] = true
	return s
}

// endpoint adds the section [endpoint.NAME].
func (d *draft) endpoint(name string) *draftSection {
	s := &draftSection{header: "endpoint." + tomlKey(name)}
	d.ends = append(d.ends, s)
	return s
}

// side records a file to write in the output directory and returns its
// absolute path, for the configuration to name.
func (d *draft) side(name string, data []byte, mode os.FileMode, what string) string {
	p := filepath.Join(d.outDir, name)
	d.files = append(d.files, sideFile{path: p, data: data, mode: mode, what: what})
	return p
}

// set adds key = value (TOML already) with its notes.
func (s *draftSection) set(key, value string, notes ...string) {
	s.settings = append(s.settings, setting{key: key, value: value, notes: notes})
}

func (s *draftSection) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// write prints the configuration as TOML.
func (d *draft) write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# corral configuration imported from " + d.from + "\n")
	b.WriteString("# by `corral import`. Lines starting with \"# import:\" tell what has no\n")
	b.WriteString("# exact equivalent in corral and what was done instead.\n")
	for _, n := range d.notes {
		writeNote(&b, n)
	}
	sections := append(append([]*draftSection{&d.web}, d.sources...), d.ends...)
	for _, s := range sections {
		if s == &d.web && len(s.settings) == 0 && len(s.notes) == 0 {
			continue
		}
		b.WriteString("\n")
		for _, n := range s.notes {
			writeNote(&b, n)
		}
		b.WriteString("[" + s.header + "]\n")
		for _, st := range s.settings {
			for _, n := range st.notes {
				writeNote(&b, n)
			}
			b.WriteString(st.key + " = " + st.value + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// webConfigHeader starts every web config the import writes: such a file
// is written again by the next import (its bcrypt hashes differ each time).
const webConfigHeader = "# exporter-toolkit web config written by `corral import"

// writeSideFiles writes the files the configuration names. A file already
// there with other contents is not overwritten, unless it is a web config
// an earlier import wrote: that is an error.
func (d *draft) writeSideFiles(log io.Writer) error {
	for _, f := range d.files {
		old, err := os.ReadFile(f.path)
		if err == nil && string(old) == string(f.data) {
			fmt.Fprintf(log, "corral import: %s: %s (unchanged)\n", f.path, f.what)
			continue
		}
		if err == nil && !strings.HasPrefix(string(old), webConfigHeader) {
			return fmt.Errorf("%s: already exists with other contents; remove it or choose another -output.dir", f.path)
		}
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return err
		}
		fmt.Fprintf(log, "corral import: wrote %s: %s\n", f.path, f.what)
	}
	return nil
}

// writeNote writes "# import: ..." wrapped at about 78 columns.
func writeNote(b *strings.Builder, note string) {
	line := "# import:"
	for _, word := range strings.Fields(note) {
		if len(line)+1+len(word) > 78 && line != "# import:" && line != "#  " {
			b.WriteString(line + "\n")
			line = "#  "
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
}

// tomlString is s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tomlKey is k bare when TOML allows it, else quoted.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if r != '_' && r != '-' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return tomlString(k)
		}
	}
	return k
}

func tomlList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// tomlTable is an inline table of strings, in the order given.
func tomlTable(kv [][2]string) string {
	q := make([][2]string, len(kv))
	for i, p := range kv {
		q[i] = [2]string{p[0], tomlString(p[1])}
	}
	return tomlInline(q)
}

// tomlInline is an inline table of values that are TOML already.
func tomlInline(kv [][2]string) string {
	if len(kv) == 0 {
		return "{}"
	}
	q := make([]string, len(kv))
	for i, p := range kv {
		q[i] = tomlKey(p[0]) + " = " + p[1]
	}
	return "{ " + strings.Join(q, ", ") + " }"
}

// tomlSortedTable is an inline table of a map, by key.
func tomlSortedTable(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	kv := make([][2]string, len(keys))
	for i, k := range keys {
		kv[i] = [2]string{k, m[k]}
	}
	return tomlTable(kv)
}

func tomlDuration(d time.Duration) string { return tomlString(shortDuration(d)) }

// shortDuration is d as Go writes it, without zero minutes or seconds
// after a larger unit: "5m", "1h", not "5m0s", "1h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func tomlBool(v bool) string { return strconv.FormatBool(v) }

// secretFileName is a file name for a secret of a source: letters, digits,
// '-', '_' and '.' only.
func secretFileName(name, suffix string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, name)
	return clean + suffix
}
