package scripts

import (
	"slices"

	"github.com/corral-metrics/corral/source"
)

// Expexp is the script as exporter_exporter's listing shows an exec
// module: its command and arguments, its environment's names only.
func (s *Script) Expexp() source.ExpexpModule {
	return source.ExpexpModule{Method: "exec", Timeout: s.cfg.Timeout.Std(), Exec: source.ExpexpExec{
		Command: s.cfg.Command[0],
		Args:    slices.Clone(s.cfg.Command[1:]),
		Env:     source.HideValues(s.cfg.Env),
	}}
}
