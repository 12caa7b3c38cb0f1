package main

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/corral-metrics/corral/source"
)

// reverseExporterLabel is the label reverse_exporter puts on every series:
// the name of its exporter.
const reverseExporterLabel = "exporter_name"

type reverseKind struct {
	kind string
	keys []string
}

// reverseKinds are reverse_exporter's exporter kinds and the keys of each.
func reverseKinds() []reverseKind {
	return []reverseKind{
		{"http", []string{"name", "no_rewrite", "labels", "address", "timeout", "forward_url_params"}},
		{"file", []string{"name", "no_rewrite", "labels", "path"}},
		{"exec", []string{"name", "no_rewrite", "labels", "command", "args"}},
		{"exec_cached", []string{"name", "no_rewrite", "labels", "command", "args", "exec_interval"}},
	}
}

func reverseKindNames() []string {
	var names []string
	for _, k := range reverseKinds() {
		names = append(names, k.kind)
	}
	return names
}

// importReverseExporter converts a reverse_exporter configuration file.
func importReverseExporter(file, outDir string) (*draft, error) {
	d := newDraft("reverse_exporter "+file, outDir)
	root, err := readYAML(file)
	if err != nil {
		return nil, err
	}
	d.notes = append(d.notes, root.doc.notes...)
	top := root.fields("web", "exporter_defaults", "reverse_exporters")
	defaults := map[string]map[string]ynode{}
	dfs := top["exporter_defaults"].fields(reverseKindNames()...)
	for _, k := range reverseKinds() {
		defaults[k.kind] = dfs[k.kind].fields(k.keys...)
		if dfs[k.kind].present() {
			d.note("exporter_defaults.%s: applied to every %s exporter that does not set the key itself, as documented (reverse_exporter's own loader, as of commit 2bb2e92, looks for the exporters one level too high and never applies them).", k.kind, k.kind)
		}
	}
	d.web.set("merge_label", tomlString(reverseExporterLabel), "every merged series gets exporter_name=\"NAME\", as in reverse_exporter; corral keeps a label the series already had as exported_exporter_name, where reverse_exporter overwrote it.")
	d.web.set("merge_self", "true", "corral adds its own metrics (exporter_name=\"corral\") to /metrics, corral_source_up among them; set false to leave them out, as reverse_exporter had none.")
	reverseWeb(d, top["web"])

	var paths []map[string]ynode
	for _, p := range top["reverse_exporters"].list() {
		paths = append(paths, p.fields("path", "auth", "exporters"))
	}
	merged := 0
	for i, fs := range paths {
		if fs["path"].str() == "/metrics" {
			merged = i
			break
		}
	}
	var users yaml.MapSlice
	seenPath := map[string]bool{}
	authed := 0
	for i, fs := range paths {
		path := fs["path"].str()
		switch {
		case path == "":
			fs["path"].errorf("missing (reverse_exporter refuses a blank path)")
		case seenPath[path]:
			fs["path"].errorf("%s given twice (reverse_exporter requires unique paths)", path)
		}
		seenPath[path] = true
		var auth []ynode
		if fs["auth"].present() {
			auth = fs["auth"].fields("basic_auth")["basic_auth"].list()
		}
		if len(auth) > 0 {
			authed++
		}
		for _, a := range auth {
			users = reverseUser(d, users, path, a)
		}
		exs := fs["exporters"].fields(reverseKindNames()...)
		var names []string
		for _, k := range reverseKinds() {
			for _, ex := range exs[k.kind].list() {
				if name := reverseSource(d, k.kind, ex.fields(k.keys...), defaults[k.kind], path, i == merged); name != "" {
					names = append(names, name)
				}
			}
		}
		if i != merged && path != "" && len(names) > 0 {
			reverseEndpoint(d, path, names)
		}
	}
	if len(paths) == 0 {
		d.note("reverse_exporters is empty: corral serves only its own metrics.")
	}
	if len(paths) > 1 {
		d.note("reverse_exporter served one merged endpoint per path. The exporters of %s are merged on corral's /metrics; those of each other path are imported with merge = false and merged on that path by an [endpoint.NAME] section (and each is also on /proxy?module=NAME alone).", paths[merged]["path"].str())
	}
	if err := root.doc.err(); err != nil {
		return nil, err
	}
	if len(users) > 0 && authed < len(paths) {
		d.note("auth: reverse_exporter asked for a password on some paths only; corral's basic auth (in the web config) covers every endpoint.")
	}
	writeWebConfig(d, "reverse_exporter", "the tcps:// listener and auth.basic_auth", users)
	return d, nil
}

// reverseUser adds one basic_auth credential, its password hashed with bcrypt.
func reverseUser(d *draft, users yaml.MapSlice, path string, a ynode) yaml.MapSlice {
	fs := a.fields("username", "password")
	user, pw := fs["username"].str(), fs["password"].str()
	if pw == "" {
		d.note("auth of %s: %s has no password, which reverse_exporter ignored; not carried over.", path, a.path)
		return users
	}
	for _, u := range users {
		if u.Key == user {
			d.note("auth of %s: user %q has another password on another path or twice; corral's web config takes one password per user: the first was kept.", path, user)
			return users
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		fs["password"].errorf("%v", err)
		return users
	}
	return append(users, yaml.MapItem{Key: user, Value: string(hash)})
}

// reverseEndpoint adds the [endpoint] that merges the sources of a path
// other than the one merged on /metrics, named after the path.
func reverseEndpoint(d *draft, path string, sources []string) {
	name := strings.Trim(strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, path), "_")
	if name == "" {
		name = "root"
	}
	for n := 2; slices.ContainsFunc(d.ends, func(s *draftSection) bool { return s.header == "endpoint."+tomlKey(name) }); n++ {
		name = fmt.Sprintf("%s_%d", strings.TrimRight(name, "_0123456789"), n)
	}
	e := d.endpoint(name)
	var notes []string
	if path == "/" || path == "/proxy" || strings.HasPrefix(path, "/-/") {
		notes = append(notes, fmt.Sprintf("%s is one of corral's own paths: choose another for this endpoint.", path))
	}
	e.set("path", tomlString(path), notes...)
	e.set("sources", tomlList(sources))
}

// reverseSource converts one exporter of one path and returns its name in
// corral, or "" when it could not be converted.
func reverseSource(d *draft, kind string, fs, def map[string]ynode, path string, merged bool) string {
	get := func(key string) ynode {
		if fs[key].present() || !def[key].present() {
			return fs[key]
		}
		return def[key].again()
	}
	name := get("name").str()
	if name == "" {
		fs["name"].errorf("missing")
		return ""
	}
	var notes []string
	if d.names[name] {
		renamed := strings.Trim(strings.Map(func(r rune) rune {
			if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
				return r
			}
			return '_'
		}, path), "_") + "_" + name
		if d.names[renamed] {
			fs["name"].errorf("%q is used on another path, and %q, the name the import would give it, is taken too: rename one", name, renamed)
			return ""
		}
		notes = append(notes, fmt.Sprintf("named %q under %s in reverse_exporter; renamed, as corral's source names are unique across paths.", name, path))
		name = renamed
	}
	if !validModuleName(name) || name == "corral" {
		fs["name"].errorf("name %q: corral's source names are letters, digits, '_', '-' or '.', and not \"corral\" (its own source); rename it", name)
		return ""
	}
	section := map[string]string{"http": "exporter", "file": "file", "exec": "script", "exec_cached": "script"}[kind]
	s := d.source(section, name)
	s.notes = append(s.notes, notes...)
	if !merged {
		s.note("served on %s by reverse_exporter, merged with the other exporters of that path; in corral merged there by an [endpoint], and also on /proxy?module=%s alone, as the exporter sends it (no %s or labels).", path, name, reverseExporterLabel)
	}
	switch kind {
	case "http":
		address := get("address").str()
		u, err := url.Parse(address)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			get("address").errorf("want an http:// or https:// URL, have %q", address)
			return ""
		case u.Hostname() == "unix":
			get("address").errorf("%q: corral does not scrape over Unix sockets; have the exporter listen on 127.0.0.1", address)
			return ""
		}
		s.set("url", tomlString(address))
		upstreamTimeout(d, s, "reverse_exporter", get("timeout").promDuration())
		switch fwd := get("forward_url_params").boolean(); {
		case fwd && merged:
			s.note("forward_url_params: corral's merged /metrics sends no query parameters to its sources; /proxy?module=%s does.", name)
		case !fwd && !merged:
			s.note("forward_url_params is false: corral's /proxy sends the client's query parameters (but module) to the exporter; a parameter the url sets keeps the url's value.")
		}
	case "file":
		path := get("path").str()
		if path == "" {
			get("path").errorf("missing")
			return ""
		}
		s.set("path", tomlString(path), relativeNote(path, false)...)
	case "exec", "exec_cached":
		command := get("command").str()
		if command == "" {
			get("command").errorf("missing")
			return ""
		}
		s.set("command", tomlList(append([]string{command}, get("args").strList()...)), relativeNote(command, true)...)
		s.note("reverse_exporter gave the command no time limit (it was killed when no scrape waited any more); corral's default timeout is 5s, within the client's deadline.")
		if kind == "exec_cached" {
			interval := get("exec_interval").promDuration()
			s.set("cache", tomlDuration(interval), fmt.Sprintf("exec_interval %s: reverse_exporter ran the command every exec_interval in the background and served its last result; corral runs it on a scrape when the last good result is older than cache.", time.Duration(interval)))
			s.set("stale_on_error", "true", "as in reverse_exporter, a failed run serves the last good result.")
		}
	}
	if get("no_rewrite").boolean() && merged {
		s.note("no_rewrite: corral always adds %s to merged series; it cannot be left out.", reverseExporterLabel)
	}
	var labels [][2]string
	for _, l := range get("labels").entries() {
		if l.key == reverseExporterLabel {
			get("labels").errorf("%s: the name label cannot be overridden (as in reverse_exporter)", reverseExporterLabel)
			return ""
		}
		if err := source.CheckLabelName(l.key); err != nil {
			l.errorf("%v: corral cannot add it; rename the label", err)
			return ""
		}
		labels = append(labels, [2]string{l.key, l.str()})
	}
	if len(labels) > 0 {
		s.set("labels", tomlTable(labels))
	}
	s.set("merge", tomlBool(merged))
	return name
}

// relativeNote warns that a relative path is taken from the directory
// corral starts in, as reverse_exporter took it from its own. A command
// without a '/' is looked up in $PATH by both.
func relativeNote(p string, command bool) []string {
	if filepath.IsAbs(p) || (command && !strings.Contains(p, "/")) {
		return nil
	}
	return []string{fmt.Sprintf("%s is relative to the directory corral starts in, as it was to reverse_exporter's; an absolute path is safer.", p)}
}

// reverseWeb converts web: the first tcp:// or tcps:// listener becomes
// the listen address, its TLS the web config.
func reverseWeb(d *draft, n ynode) {
	fs := n.fields("context_path", "read_header_timeout", "listen")
	if cp := fs["context_path"].str(); cp != "" && cp != "/" {
		d.note("web.context_path %s: corral serves its paths at the root; put a reverse proxy in front to serve them under a prefix.", cp)
	}
	if fs["read_header_timeout"].present() {
		fs["read_header_timeout"].promDuration()
		d.note("web.read_header_timeout: corral's is fixed at 10s; dropped.")
	}
	listens := fs["listen"].list()
	if len(listens) == 0 {
		d.web.set("listen_address", tomlString(":9998"), "reverse_exporter's default listener tcp://[::]:9998.")
		return
	}
	chosen := false
	for _, l := range listens {
		raw := l.str()
		u, err := url.Parse(raw)
		if err != nil {
			l.errorf("not a URL: %v", err)
			continue
		}
		switch {
		case u.Scheme != "tcp" && u.Scheme != "tcps" && u.Scheme != "unix" && u.Scheme != "unixs":
			l.errorf("unknown listen scheme %q: want tcp, tcps, unix or unixs", u.Scheme)
		case chosen || strings.HasPrefix(u.Scheme, "unix"):
			d.note("web.listen %s: not carried over: corral listens on one TCP port.", raw)
		default:
			chosen = true
			d.web.set("listen_address", tomlString(u.Host))
			if u.Scheme == "tcps" {
				reverseTLS(d, l, u)
			}
		}
	}
	if !chosen {
		d.web.set("listen_address", tomlString(":9998"), "no tcp:// or tcps:// listener: corral needs a TCP port; reverse_exporter's default 9998 is used.")
	}
}

// reverseTLS records the TLS of a tcps:// listener for the web config.
func reverseTLS(d *draft, l ynode, u *url.URL) {
	q := u.Query()
	cert, key := q.Get("tlscert"), q.Get("tlskey")
	if cert == "" || key == "" {
		l.errorf("tcps needs tlscert and tlskey (as in reverse_exporter)")
		return
	}
	tls := yaml.MapSlice{{Key: "cert_file", Value: abs(cert)}, {Key: "key_file", Value: abs(key)}}
	if ca := q.Get("tlsclientca"); ca != "" {
		tls = append(tls,
			yaml.MapItem{Key: "client_auth_type", Value: "RequireAndVerifyClientCert"},
			yaml.MapItem{Key: "client_ca_file", Value: abs(ca)})
	}
	d.webTLS = tls
}

// writeWebConfig writes the web config of d.webTLS and users, if any, and
// names it in [web].
func writeWebConfig(d *draft, peer, from string, users yaml.MapSlice, comments ...string) {
	var doc yaml.MapSlice
	if len(d.webTLS) > 0 {
		doc = append(doc, yaml.MapItem{Key: "tls_server_config", Value: d.webTLS})
	}
	if len(users) > 0 {
		doc = append(doc, yaml.MapItem{Key: "basic_auth_users", Value: users})
	}
	if len(doc) == 0 {
		return
	}
	body, err := yaml.Marshal(doc)
	if err != nil {
		panic(err) // strings and maps of strings always marshal
	}
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s`\n", webConfigHeader, peer)
	fmt.Fprintf(&head, "# from %s. See\n", from)
	head.WriteString("# https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md\n")
	for _, c := range comments {
		head.WriteString("# " + c + "\n")
	}
	file := d.side("web.yml", append([]byte(head.String()), body...), 0o600, "exporter-toolkit web config ([web] web_config_file)")
	what := "TLS is"
	if len(users) > 0 {
		what = "basic auth (passwords as bcrypt hashes) is"
		if len(d.webTLS) > 0 {
			what = "TLS and basic auth (passwords as bcrypt hashes) are"
		}
	}
	d.web.set("web_config_file", tomlString(file), what+" in the exporter-toolkit web config the import wrote to "+file+".")
}
