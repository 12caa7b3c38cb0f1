package source

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Settings are the keys every [KIND.NAME] section has, whatever its kind.
// A kind's config embeds them, so they sit beside the kind's own keys.
type Settings struct {
	// Process is the [process.NAME] the source belongs to, if any.
	Process string `toml:"process"`
	// Merge puts the source in the merged /metrics (default true).
	Merge *bool `toml:"merge"`
	// Verify makes /proxy validate the body before serving it (default true).
	Verify *bool `toml:"verify"`
	// Labels are added to every series of the source in the merge.
	Labels map[string]string `toml:"labels"`
}

// Defaults fills what the operator left out.
func (s *Settings) Defaults() {
	if s.Merge == nil {
		s.Merge = ptr(true)
	}
	if s.Verify == nil {
		s.Verify = ptr(true)
	}
}

// Validate reports every problem, each prefixed with its key. mergeLabel is
// [web] merge_label, which the merge sets on every series itself.
func (s *Settings) Validate(mergeLabel string) error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		if err := CheckLabelName(k); err != nil {
			errs = append(errs, fmt.Errorf("labels.%s: %w", k, err))
		} else if k == mergeLabel {
			errs = append(errs, fmt.Errorf("labels.%s: %q is the merge label (web.merge_label), which names the source", k, k))
		}
	}
	return errors.Join(errs...)
}

// CheckLabelName tells why name cannot be a label corral adds to every
// series of a source (a static label, or the merge label), or nil. The
// rule is Prometheus' for a label name that needs no quoting, without the
// names it gives a meaning of its own: "__" prefixed names, and le and
// quantile, which the buckets of a histogram and the quantiles of a summary
// carry already.
func CheckLabelName(name string) error {
	switch {
	case !validLabelName(name):
		return fmt.Errorf("%q is not a valid label name (letters, digits and '_', not starting with a digit)", name)
	case strings.HasPrefix(name, "__"):
		return fmt.Errorf("%q is reserved: names starting with \"__\" are Prometheus' own", name)
	case name == "le":
		return fmt.Errorf("%q is reserved: histogram buckets carry it", name)
	case name == "quantile":
		return fmt.Errorf("%q is reserved: summary quantiles carry it", name)
	}
	return nil
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

func ptr[T any](v T) *T { return &v }

// Shared is the settings themselves: through the embedding, every kind's
// config hands over its shared settings without knowing what they are.
func (s *Settings) Shared() *Settings { return s }
