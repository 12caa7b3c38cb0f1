package main

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v2"

	"github.com/corral-metrics/corral/gateway"
	"github.com/corral-metrics/corral/source/exporter"
)

// expexpFlags are exporter_exporter's command-line flags, under its own
// names, so that its command line can be pasted after `corral import
// exporter_exporter`.
type expexpFlags struct {
	file, outDir                 string
	dirs, allowNets              []string
	skipDirs                     bool
	listen, tlsListen            string
	cert, key, ca, certMatch     string
	verify                       bool
	bearerToken, bearerTokenFile string
	telemetryPath, proxyPath     string
	logLevel                     string
	logJSON                      bool
	set                          map[string]bool // flags given on the command line
}

// importExporterExporter converts exporter_exporter's configuration file,
// its -config.dirs and its flags.
func importExporterExporter(f expexpFlags) (*draft, error) {
	from := "exporter_exporter " + f.file
	if f.file == "" {
		from = "exporter_exporter -config.dirs " + strings.Join(f.dirs, " ")
	}
	d := newDraft(from, f.outDir)
	d.note("exporter_exporter has no merged endpoint: every module is imported with merge = false, so corral's /metrics holds only corral's own metrics, as exporter_exporter's /metrics held only its own. Set merge = true to add a module to it.")
	var errs []error
	var defaultModule string
	if f.file != "" {
		root, err := readYAML(f.file)
		if err != nil {
			return nil, err
		}
		d.notes = append(d.notes, root.doc.notes...)
		top := root.fields("global", "modules", "defaultModule")
		top["global"].fields()
		for _, m := range top["modules"].entries() {
			importExpexpModule(d, m.key, m)
		}
		defaultModule = top["defaultModule"].str()
		errs = append(errs, root.doc.err())
	}
	for _, dir := range f.dirs {
		errs = append(errs, importExpexpDir(d, dir, f.skipDirs))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// After -config.dirs: the default module may be one of theirs.
	switch dm := defaultModule; {
	case dm == "":
	case d.names[dm]:
		d.web.set("default_module", tomlString(dm), "defaultModule: /proxy without module= serves it.")
	default:
		d.note("defaultModule %q names no module: exporter_exporter answered /proxy without module= with 404 (unknown module); not carried over: corral's default_module must name a source, and corral answers such a request with 400 and the list of modules.", dm)
	}
	if len(d.sources) == 0 {
		d.note("no modules were found (exporter_exporter logs an error and serves nothing); corral serves only its own metrics.")
	}
	if err := expexpWeb(d, f); err != nil {
		return nil, err
	}
	return d, nil
}

// importExpexpDir reads a -config.dirs directory: one module per *.yml or
// *.yaml file, named after the file.
func importExpexpDir(d *draft, dir string, skip bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if skip && errors.Is(err, os.ErrNotExist) {
			d.note("-config.dirs %s does not exist and -config.skip-dirs skipped it; corral's --config.dir refuses a missing directory.", dir)
			return nil
		}
		return fmt.Errorf("-config.dirs %s: %w", dir, err)
	}
	var errs []error
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			d.note("%s: skipped, as exporter_exporter skips what is not a *.yml or *.yaml file.", path)
			continue
		}
		name := strings.TrimSuffix(e.Name(), ext)
		if d.names[name] {
			errs = append(errs, fmt.Errorf("%s: module %s is already defined", path, name))
			continue
		}
		n, err := readYAML(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.notes = append(d.notes, n.doc.notes...)
		importExpexpModule(d, name, n)
		errs = append(errs, n.doc.err())
	}
	return errors.Join(errs...)
}

// importExpexpModule converts one module: method http, exec or file.
func importExpexpModule(d *draft, name string, n ynode) {
	fs := n.fields("method", "timeout", "http", "exec", "file")
	if !validModuleName(name) || name == "corral" {
		n.errorf("module name %q: corral's module names are letters, digits, '_', '-' or '.', and not \"corral\" (its own source); rename the module", name)
		return
	}
	timeout := fs["timeout"].goDuration()
	method := fs["method"].str()
	for _, other := range []string{"http", "exec", "file"} {
		if other != method && fs[other].present() && method != "" {
			d.note("%s: %s: ignored, as exporter_exporter ignored it: the method is %s.", n.doc.file, fs[other].path, method)
		}
	}
	switch method {
	case "http":
		expexpHTTP(d, name, fs["http"], timeout)
	case "exec":
		expexpExec(d, name, fs["exec"], timeout)
	case "file":
		expexpFile(d, name, fs["file"], timeout)
	case "":
		fs["method"].errorf("missing: want http, exec or file")
	default:
		fs["method"].errorf("unknown method %q: want http, exec or file", method)
	}
}

func expexpHTTP(d *draft, name string, n ynode, timeout time.Duration) {
	h := n.fields("verify", "tls_insecure_skip_verify", "tls_cert_file", "tls_key_file", "tls_ca_cert_file",
		"tls_root_ca_file", "server_name", "port", "path", "scheme", "address", "headers",
		"basic_auth_username", "basic_auth_password")
	port := h["port"].integer()
	if port <= 0 || port > 65535 {
		h["port"].errorf("want a port number from 1 to 65535 (exporter_exporter requires it), have %d", port)
	}
	scheme := cmp.Or(h["scheme"].str(), "http")
	if scheme != "http" && scheme != "https" {
		h["scheme"].errorf("want http or https, have %q", scheme)
	}
	address := cmp.Or(h["address"].str(), "localhost")
	base, err := url.Parse(cmp.Or(h["path"].str(), "/metrics"))
	if err != nil {
		h["path"].errorf("not a URL path: %v", err)
		return
	}
	p := base.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u := scheme + "://" + net.JoinHostPort(address, strconv.Itoa(port)) + p
	var urlNotes []string
	if base.RawQuery != "" {
		u += "?" + base.RawQuery
		urlNotes = append(urlNotes, "path's query: exporter_exporter sent these values after the client's own values of the same names; corral sends only these for a name set here, and the client's for the others.")
	}
	s := d.source("exporter", name)
	s.set("url", tomlString(u), urlNotes...)
	upstreamTimeout(d, s, "exporter_exporter", timeout)
	if h["verify"].present() && !h["verify"].boolean() {
		s.set("verify", "false")
	}
	s.set("merge", "false")

	var tls [][2]string
	var tlsNotes []string
	if root := h["tls_root_ca_file"].str(); root != "" {
		tls = append(tls, [2]string{"ca_file", tomlString(abs(root))})
		tlsNotes = append(tlsNotes, "tls_root_ca_file: exporter_exporter trusted this CA besides the system's; corral's ca_file replaces the system's CAs: put them in the file too if the upstream needs them.")
	}
	if ca := h["tls_ca_cert_file"].str(); ca != "" {
		tlsNotes = append(tlsNotes, fmt.Sprintf("tls_ca_cert_file %s is not carried over: exporter_exporter put it in the client-CA pool of an outgoing connection, where it has no effect. To trust that CA for the upstream, set tls.ca_file.", ca))
	}
	cert, key := h["tls_cert_file"].str(), h["tls_key_file"].str()
	switch {
	case cert != "" && key != "":
		tls = append(tls, [2]string{"cert_file", tomlString(abs(cert))}, [2]string{"key_file", tomlString(abs(key))})
	case cert != "" || key != "":
		tlsNotes = append(tlsNotes, "tls_cert_file and tls_key_file: only one is given, which exporter_exporter ignored; not carried over.")
	}
	if sn := h["server_name"].str(); sn != "" {
		tls = append(tls, [2]string{"server_name", tomlString(sn)})
	}
	if h["tls_insecure_skip_verify"].boolean() {
		tls = append(tls, [2]string{"insecure_skip_verify", "true"})
	}
	switch {
	case len(tls) > 0:
		s.set("tls", tomlInline(tls), tlsNotes...)
	case len(tlsNotes) > 0:
		s.notes = append(s.notes, tlsNotes...)
	}

	var headers [][2]string
	for _, kv := range h["headers"].strMap() {
		if kv[0] == "host" {
			s.note("headers: host = %q is not carried over: exporter_exporter sent it as the Host of the request; corral sends the host of url.", kv[1])
			continue
		}
		headers = append(headers, kv)
	}
	if len(headers) > 0 {
		s.set("headers", tomlTable(headers))
	}

	user, pw := h["basic_auth_username"].str(), h["basic_auth_password"].str()
	switch {
	case user != "" && pw != "":
		file := d.side(secretFileName(name, ".password"), []byte(pw), 0o600, "basic_auth_password of module "+name)
		s.set("basic_auth", tomlTable([][2]string{{"username", user}, {"password_file", file}}),
			"basic_auth_password: corral reads passwords from files only; the import wrote it to "+file+" (mode 0600).")
	case user != "" || pw != "":
		s.note("basic_auth_username and basic_auth_password: only one is given, which exporter_exporter ignored; not carried over.")
	}
}

// noLimitTimeout is the timeout the import writes for an HTTP upstream its
// peer gave no limit of its own, where the client's deadline alone ended a
// scrape: long enough that Prometheus' scrape_timeout, which corral reads
// from X-Prometheus-Scrape-Timeout-Seconds, governs again.
const noLimitTimeout = 5 * time.Minute

// upstreamTimeout sets the timeout of an HTTP upstream: the peer's own, or,
// where it had none, noLimitTimeout rather than corral's 10s default, with
// a note on the configuration (once) saying what that changes.
func upstreamTimeout(d *draft, s *draftSection, peer string, timeout time.Duration) {
	if timeout > 0 {
		s.set("timeout", tomlDuration(timeout))
		return
	}
	long := shortDuration(noLimitTimeout)
	if !d.noLimitNoted {
		d.noLimitNoted = true
		d.note("timeout = %q where %s set an upstream no timeout: there the client's scrape timeout alone ended a scrape. "+
			"corral ends one at the earlier of the client's X-Prometheus-Scrape-Timeout-Seconds (less at most 0.5s) and the source's timeout: at %s, Prometheus' scrape_timeout governs, as before. "+
			"A client that sends no timeout header now waits %s at most on /proxy ([web] scrape_timeout, %s, on a merged endpoint); corral's default timeout, where none is set, is %s.",
			long, peer, long, long, shortDuration(gateway.DefaultScrapeTimeout), shortDuration(exporter.DefaultTimeout))
	}
	s.set("timeout", tomlDuration(noLimitTimeout), fmt.Sprintf("timeout: none in %s; the client's scrape timeout governs (see the note on timeout at the top).", peer))
}

func expexpExec(d *draft, name string, n ynode, timeout time.Duration) {
	e := n.fields("command", "args", "env")
	command := e["command"].str()
	if command == "" {
		e["command"].errorf("missing")
		return
	}
	s := d.source("script", name)
	s.set("command", tomlList(append([]string{command}, e["args"].strList()...)))
	s.set("allow_args", "true", "exporter_exporter appended the values of /proxy?...&args=X to the command line, as allow_args does (at most 16, each checked as a parameter); set false if no client sends args, or prefer `params`, read from $CORRAL_PARAM_<NAME>, which never reach a command line.")
	if timeout > 0 {
		s.set("timeout", tomlDuration(timeout))
	} else {
		s.note("timeout: exporter_exporter gave the command no limit of its own (only the client's); corral's default is 5s, within the client's deadline.")
	}
	if env := e["env"].strMap(); len(env) > 0 {
		s.set("env", tomlTable(env), "env: exporter_exporter ran the command with only these variables; corral adds them to its own environment.")
	}
	s.set("merge", "false")
}

func expexpFile(d *draft, name string, n ynode, timeout time.Duration) {
	f := n.fields("path")
	path := f["path"].str()
	if path == "" {
		f["path"].errorf("missing (exporter_exporter requires it)")
		return
	}
	s := d.source("file", name)
	if timeout > 0 {
		s.note("timeout %s: a file source has no timeout in corral (it refuses anything but a regular file, so a read does not block); dropped.", timeout)
	}
	s.set("path", tomlString(path))
	s.set("merge", "false")
}

// expexpWeb converts the flags: listen addresses, TLS, bearer token, allowed
// networks, paths and logging.
func expexpWeb(d *draft, f expexpFlags) error {
	w := &d.web
	tlsFlags := f.set["web.tls.cert"] || f.set["web.tls.key"] || f.set["web.tls.ca"] || f.set["web.tls.verify"] || f.set["web.tls.certmatch"]
	switch {
	case f.tlsListen != "":
		var notes []string
		if f.listen != "" {
			notes = append(notes, fmt.Sprintf("exporter_exporter also served plain HTTP on %s (-web.listen-address); corral serves one port, here TLS on -web.tls.listen-address.", f.listen))
		}
		w.set("listen_address", tomlString(f.tlsListen), notes...)
		if err := expexpTLS(d, f); err != nil {
			return err
		}
	case f.listen != "":
		w.set("listen_address", tomlString(f.listen))
		if tlsFlags {
			d.note("-web.tls.* flags without -web.tls.listen-address did nothing in exporter_exporter; not carried over.")
		}
	default:
		return errors.New("-web.listen-address and -web.tls.listen-address are both empty: exporter_exporter would serve nothing")
	}
	if f.bearerToken != "" && f.bearerTokenFile != "" {
		return errors.New("-web.bearer.token and -web.bearer.token-file are mutually exclusive (as in exporter_exporter)")
	}
	bearerNote := "exporter_exporter required the token on every path; corral on every path but /-/healthy (for container health checks)."
	if f.bearerToken != "" {
		file := d.side("bearer.token", []byte(f.bearerToken+"\n"), 0o600, "the -web.bearer.token")
		w.set("bearer_token_file", tomlString(file), "-web.bearer.token: corral reads the token from a file only; the import wrote it to "+file+" (mode 0600). "+bearerNote)
	}
	if f.bearerTokenFile != "" {
		w.set("bearer_token_file", tomlString(abs(f.bearerTokenFile)), bearerNote)
	}
	if len(f.allowNets) > 0 {
		for _, n := range f.allowNets {
			if _, _, err := net.ParseCIDR(n); err != nil {
				return fmt.Errorf("-allow.net %s: %w", n, err)
			}
		}
		w.set("allow_networks", tomlList(f.allowNets))
	}
	if p := f.telemetryPath; p != "" && p != "/metrics" {
		d.note("-web.telemetry-path %s: corral's own metrics are on /metrics (merged with the sources that have merge = true); the path cannot be changed.", p)
	}
	if p := f.proxyPath; p != "" && p != "/proxy" {
		d.note("-web.proxy-path %s: corral's proxy path is /proxy; it cannot be changed.", p)
	}
	if f.set["log.level"] {
		d.note("-log.level %s: run corral with --log.level (debug, info, warn or error).", f.logLevel)
	}
	if f.logJSON {
		d.note("-log.json: run corral with --log.format json.")
	}
	return nil
}

// expexpTLS sets the web config's TLS from the -web.tls.* flags.
func expexpTLS(d *draft, f expexpFlags) error {
	tls := yaml.MapSlice{
		{Key: "cert_file", Value: abs(f.cert)},
		{Key: "key_file", Value: abs(f.key)},
	}
	var comments []string
	switch {
	case f.verify:
		tls = append(tls,
			yaml.MapItem{Key: "client_auth_type", Value: "RequireAndVerifyClientCert"},
			yaml.MapItem{Key: "client_ca_file", Value: abs(f.ca)})
		if f.certMatch != "" {
			if san, ok := literalRegexp(f.certMatch); ok {
				tls = append(tls, yaml.MapItem{Key: "client_allowed_sans", Value: []string{san}})
				comments = append(comments, fmt.Sprintf("-web.tls.certmatch %s matched the subject CN, DNS names and e-mail addresses; client_allowed_sans matches DNS names, e-mail addresses, IP addresses and URIs exactly, not the CN.", f.certMatch))
			} else {
				// Fail closed: an empty list accepts no client, where no
				// list would accept every certificate the CA signed.
				tls = append(tls, yaml.MapItem{Key: "client_allowed_sans", Value: []string{}})
				comments = append(comments, fmt.Sprintf("-web.tls.certmatch %s is a pattern; client_allowed_sans takes exact DNS names, e-mail addresses, IPs or URIs: list them. Until then no client is accepted.", f.certMatch))
				d.note("-web.tls.certmatch %s: client_allowed_sans in the web config takes exact names, not a pattern, and is left empty: NO CLIENT IS ACCEPTED until you list the names there.", f.certMatch)
			}
		}
	case f.certMatch != "":
		return errors.New("-web.tls.certmatch needs -web.tls.verify (as in exporter_exporter)")
	case f.set["web.tls.ca"]:
		d.note("-web.tls.ca without -web.tls.verify did nothing in exporter_exporter; not carried over.")
	}
	d.webTLS = tls
	writeWebConfig(d, "exporter_exporter", "the -web.tls.* flags", nil, comments...)
	return nil
}

// literalRegexp is the name an anchored literal pattern ("^prometheus$")
// matches, if that is what it is.
func literalRegexp(pattern string) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 {
		return "", false
	}
	first, lit, last := re.Sub[0].Op, re.Sub[1], re.Sub[2].Op
	if (first != syntax.OpBeginText && first != syntax.OpBeginLine) || (last != syntax.OpEndText && last != syntax.OpEndLine) ||
		lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	return string(lit.Rune), true
}

// abs is p made absolute, so the configuration does not depend on the
// directory corral starts in.
func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
