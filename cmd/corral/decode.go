package main

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/corral-metrics/corral/source"
)

// filePart is what one file defines, before it is merged with the others.
type filePart struct {
	Config
	defined map[string]bool // the top-level sections the file sets
}

// maxValueErrors bounds the bad values reported for one file.
const maxValueErrors = 100

// decodeFile decodes one file. A file that is not TOML gives its syntax
// error and parsed false. Otherwise every value a type refuses (a bare
// number or a bad string for a duration, a bad size) is reported with its
// line and key, the file decoded again with a neutral value in its place,
// until none is left; then unknown keys are reported.
func decodeFile(file string, data []byte) (part filePart, errs []error, parsed bool) {
	text := string(data)
	var top map[string]toml.Primitive
	if _, err := toml.Decode(text, &top); err != nil {
		return part, []error{syntaxError(file, text, err)}, false
	}
	var bad []valueError
	// Neutral values stand in for a value its type refused, so that
	// decoding goes on and every other bad value of the file is found in
	// the same run: the zero duration, else the least size (a size cannot
	// be 0).
	neutralValues := []string{"0s", "1B"}
	tried := map[string]int{} // by key: the neutral values tried in its place
	// report lists the refused values in the order of the file, then more.
	report := func(more ...error) []error {
		slices.SortFunc(bad, valueError.compare)
		for _, b := range bad {
			errs = append(errs, b.err)
		}
		return append(errs, more...)
	}
	for range maxValueErrors {
		var refused []toml.ParseError
		var rest []error
		part, refused, rest = decodeSections(file, text)
		next, progress := text, false
		for _, pe := range refused {
			i := tried[pe.LastKey]
			if i == 0 {
				bad = append(bad, valueError{pe.Position.Line, fmt.Errorf("%s: line %d: %s: %s", file, pe.Position.Line, pe.LastKey, pe.Message)})
			}
			if i >= len(neutralValues) {
				continue
			}
			tried[pe.LastKey] = i + 1
			if n := neutralize(next, pe.Position.Line, parseKey(pe.LastKey), neutralValues[i]); n != next {
				next, progress = n, true
			}
		}
		if _, err := toml.Decode(next, new(map[string]any)); !progress || err != nil {
			return part, report(rest...), true
		}
		text = next
	}
	return part, report(fmt.Errorf("%s: more than %d bad values, the rest not checked", file, maxValueErrors)), true
}

// valueError is a value a type refused, found at line.
type valueError struct {
	line int
	err  error
}

// compare orders value errors by line, then by message (the key comes
// first in it), whatever the order decoding met them in.
func (a valueError) compare(b valueError) int {
	return cmp.Or(cmp.Compare(a.line, b.line), strings.Compare(a.err.Error(), b.err.Error()))
}

// decodeSections decodes each top-level section of text on its own, so a
// section that fails does not hide the others. refused are the values a
// type refused, with their position; rest are every other problem,
// unknown keys included.
func decodeSections(file, text string) (part filePart, refused []toml.ParseError, rest []error) {
	var top map[string]toml.Primitive
	md, err := toml.Decode(text, &top)
	if err != nil {
		return part, nil, []error{syntaxError(file, text, err)}
	}
	part.defined = make(map[string]bool, len(top))
	part.Sources = make(map[source.Kind]map[string]sourceConfig)
	failed := map[string]bool{}
	unknown := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(top)) {
		part.defined[name] = true
		p := top[name]
		var err error
		switch name {
		case "web":
			err = md.PrimitiveDecode(p, &part.Web)
		case "supervisor":
			err = md.PrimitiveDecode(p, &part.Supervisor)
		case "process":
			err = md.PrimitiveDecode(p, &part.Process)
		case "task":
			err = md.PrimitiveDecode(p, &part.Task)
		case "endpoint":
			err = md.PrimitiveDecode(p, &part.Endpoint)
		default:
			i := slices.IndexFunc(kinds(), func(k kind) bool { return string(k.name) == name })
			if i < 0 {
				unknown[name] = true
				continue
			}
			k := kinds()[i]
			part.Sources[k.name], err = k.decode(&md, p)
		}
		if err == nil {
			continue
		}
		failed[name] = true
		var pe toml.ParseError
		if errors.As(err, &pe) {
			refused = append(refused, pe)
		} else {
			rest = append(rest, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "toml: ")))
		}
	}
	undecoded := md.Undecoded()
	reported := map[string]bool{}
	for _, k := range undecoded {
		switch {
		case failed[k[0]]:
			continue // what a failed section left undecoded is not unknown
		case unknown[k[0]]:
			k = k[:1]
		case len(k) > 1 && slices.ContainsFunc(undecoded, func(p toml.Key) bool { return p.String() == k[:len(k)-1].String() }):
			continue // reported with its parent
		}
		if !reported[k.String()] {
			reported[k.String()] = true
			rest = append(rest, fmt.Errorf("%s: %s: unknown key", file, k))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(unknown)) {
		if !reported[name] {
			rest = append(rest, fmt.Errorf("%s: %s: unknown key", file, name))
		}
	}
	return part, refused, rest
}

// neutralize puts value, quoted, in place of the value of key on line
// (from 1), found by its last name. BurntSushi/toml's byte offsets drift
// after inline tables, its lines do not, so the line is searched.
func neutralize(text string, line int, key toml.Key, value string) string {
	lines := strings.SplitAfter(text, "\n")
	if line < 1 || line > len(lines) || len(key) == 0 {
		return text
	}
	name := regexp.QuoteMeta(key[len(key)-1])
	re := regexp.MustCompile(`(^|[\s{,])(` + name + `|"` + name + `"|'` + name + `')(\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,}#]+)`)
	l := lines[line-1]
	m := re.FindStringSubmatchIndex(l)
	if m == nil {
		return text
	}
	lines[line-1] = l[:m[8]] + strconv.Quote(value) + l[m[9]:]
	return strings.Join(lines, "")
}

// parseKey splits a dotted key as ParseError.LastKey writes it; a quoted
// part keeps its quotes off.
func parseKey(s string) toml.Key {
	var k toml.Key
	for s != "" {
		if s[0] == '"' {
			end := strings.Index(s[1:], `"`)
			if end < 0 {
				return append(k, s)
			}
			k = append(k, s[1:end+1])
			s = strings.TrimPrefix(s[end+2:], ".")
			continue
		}
		part, rest, _ := strings.Cut(s, ".")
		k, s = append(k, part), rest
	}
	return k
}

// syntaxError is the one error of a file (text) that is not TOML. It names
// the key the parser was at only when that key is on the line of the
// error: BurntSushi/toml's LastKey is the last key it read, which for a
// bad line of its own (a stray "[[[") is the one before.
func syntaxError(file, text string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if key := parseKey(pe.LastKey); len(key) > 0 && onLine(text, pe.Position.Line, key[len(key)-1]) {
			msg = pe.LastKey + ": " + msg
		}
		return fmt.Errorf("%s: line %d: %s", file, pe.Position.Line, msg)
	}
	return fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "toml: "))
}

// onLine tells whether name is written on line (from 1) of text, as a
// whole key, bare or quoted.
func onLine(text string, line int, name string) bool {
	lines := strings.Split(text, "\n")
	if line < 1 || line > len(lines) {
		return false
	}
	re := regexp.MustCompile(`(^|[^A-Za-z0-9_-])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_-])`)
	return re.MatchString(lines[line-1])
}
