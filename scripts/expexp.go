package scripts

import (
	"github.com/corral-metrics/corral/source"
)

// Expexp is the script as exporter_exporter's listing shows an exec
// module, without its secrets: its program (as the landing page shows it),
// each argument Hidden (one may be a password: "--password=..."), and its
// environment's names only. Args is null when the command has none, as
// exporter_exporter writes an exec module without args.
func (s *Script) Expexp() source.ExpexpModule {
	var args []string
	for range s.cfg.Command[1:] {
		args = append(args, source.Hidden)
	}
	return source.ExpexpModule{Method: "exec", Timeout: s.cfg.Timeout.Std(), Exec: source.ExpexpExec{
		Command: s.cfg.Command[0],
		Args:    args,
		Env:     source.HideValues(s.cfg.Env),
	}}
}
