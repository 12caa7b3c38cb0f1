package main

import (
	"errors"
	goflag "flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// importCommand is `corral import`: print the corral configuration that
// does what an exporter_exporter or reverse_exporter configuration did.
//
// Its flags are parsed with Go's flag package, not urfave/cli: they are
// exporter_exporter's own flags under their own names, parsed as
// exporter_exporter parses them (-web.tls.verify, -allow.net=... repeated),
// so that its command line can be pasted as it is, before or after FILE.
func importCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "print a corral configuration equivalent to an exporter_exporter or reverse_exporter one",
		Subcommands: []*cli.Command{
			{
				Name:            "exporter_exporter",
				Usage:           "convert exporter_exporter's YAML, -config.dirs and command-line flags (TLS flags become a web config file)",
				ArgsUsage:       "FILE [-config.dirs DIR]... [exporter_exporter's flags] [-output.dir DIR]",
				SkipFlagParsing: true,
				Action:          importExpexpAction,
			},
			{
				Name:            "reverse_exporter",
				Usage:           "convert reverse_exporter's YAML (TLS listeners and basic auth become a web config file)",
				ArgsUsage:       "FILE [-output.dir DIR]",
				SkipFlagParsing: true,
				Action:          importReverseAction,
			},
		},
	}
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// usage prints how to call the command, then its flags.
func usage(fs *goflag.FlagSet, synopsis string) func() {
	return func() {
		fmt.Fprintf(fs.Output(), "usage: %s %s\n", fs.Name(), synopsis)
		fs.PrintDefaults()
	}
}

// parseInterspersed parses flags before and after the positional arguments
// and returns those.
func parseInterspersed(fs *goflag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func importExpexpAction(c *cli.Context) error {
	var f expexpFlags
	fs := goflag.NewFlagSet("corral import exporter_exporter", goflag.ContinueOnError)
	fs.SetOutput(c.App.ErrWriter)
	fs.Usage = usage(fs, c.Command.ArgsUsage)
	fs.StringVar(&f.file, "config.file", "", "exporter_exporter's configuration file (or give it as FILE)")
	fs.Var((*stringList)(&f.dirs), "config.dirs", "a directory of one-module files (repeatable)")
	fs.BoolVar(&f.skipDirs, "config.skip-dirs", false, "skip a -config.dirs that does not exist")
	fs.StringVar(&f.listen, "web.listen-address", ":9999", "exporter_exporter's HTTP address")
	fs.StringVar(&f.tlsListen, "web.tls.listen-address", "", "exporter_exporter's HTTPS address")
	fs.StringVar(&f.cert, "web.tls.cert", "cert.pem", "server certificate")
	fs.StringVar(&f.key, "web.tls.key", "key.pem", "server key")
	fs.StringVar(&f.ca, "web.tls.ca", "ca.pem", "CA of the client certificates")
	fs.BoolVar(&f.verify, "web.tls.verify", false, "require client certificates")
	fs.StringVar(&f.certMatch, "web.tls.certmatch", "", "pattern a client certificate's names must match")
	fs.StringVar(&f.bearerToken, "web.bearer.token", "", "bearer token")
	fs.StringVar(&f.bearerTokenFile, "web.bearer.token-file", "", "file holding the bearer token")
	fs.Var((*stringList)(&f.allowNets), "allow.net", "allowed client network, CIDR (repeatable)")
	fs.StringVar(&f.telemetryPath, "web.telemetry-path", "/metrics", "exporter_exporter's own metrics path")
	fs.StringVar(&f.proxyPath, "web.proxy-path", "/proxy", "exporter_exporter's proxy path")
	fs.StringVar(&f.logLevel, "log.level", "warn", "exporter_exporter's log level")
	fs.BoolVar(&f.logJSON, "log.json", false, "exporter_exporter's JSON logs")
	fs.StringVar(&f.outDir, "output.dir", "", "where to write the web config and secret files (default: FILE's directory)")
	pos, err := parseInterspersed(fs, c.Args().Slice())
	if err != nil {
		return importUsage(err)
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *goflag.Flag) { f.set[fl.Name] = true })
	switch {
	case len(pos) > 1:
		return importUsage(fmt.Errorf("one FILE, have %d: %s", len(pos), strings.Join(pos, " ")))
	case len(pos) == 1 && f.set["config.file"]:
		return importUsage(errors.New("FILE and -config.file both given"))
	case len(pos) == 1:
		f.file = pos[0]
	case f.file == "" && len(f.dirs) == 0:
		return importUsage(errors.New("give exporter_exporter's configuration FILE, or -config.dirs"))
	}
	if f.outDir == "" {
		f.outDir = "."
		if f.file != "" {
			f.outDir = filepath.Dir(f.file)
		}
	}
	f.outDir = abs(f.outDir)
	d, err := importExporterExporter(f)
	return emitDraft(c, d, err)
}

func importReverseAction(c *cli.Context) error {
	fs := goflag.NewFlagSet("corral import reverse_exporter", goflag.ContinueOnError)
	fs.SetOutput(c.App.ErrWriter)
	fs.Usage = usage(fs, c.Command.ArgsUsage)
	file := fs.String("config-file", "", "reverse_exporter's configuration file (or give it as FILE)")
	outDir := fs.String("output.dir", "", "where to write the web config (default: FILE's directory)")
	pos, err := parseInterspersed(fs, c.Args().Slice())
	if err != nil {
		return importUsage(err)
	}
	switch {
	case len(pos) > 1 || (len(pos) == 1 && *file != ""):
		return importUsage(errors.New("one FILE only"))
	case len(pos) == 1:
		*file = pos[0]
	case *file == "":
		return importUsage(errors.New("give reverse_exporter's configuration FILE"))
	}
	if *outDir == "" {
		*outDir = filepath.Dir(*file)
	}
	d, err := importReverseExporter(*file, abs(*outDir))
	return emitDraft(c, d, err)
}

func importUsage(err error) error {
	if errors.Is(err, goflag.ErrHelp) {
		return nil
	}
	return cli.Exit("corral import: "+err.Error(), 2)
}

// emitDraft writes the side files, then prints the configuration; any
// failure is exit 1 with its message.
func emitDraft(c *cli.Context, d *draft, err error) error {
	if err == nil {
		err = d.writeSideFiles(c.App.ErrWriter)
	}
	if err == nil {
		err = d.write(c.App.Writer)
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return nil
}
