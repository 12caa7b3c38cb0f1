package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/corral-metrics/corral/internal/duration"
	"github.com/corral-metrics/corral/source"
)

// The kind of docs/adding-a-source-kind.md, whole: a source that serves
// the same exposition every time. In the repository it would be package
// source/static, with Config, New and Static as below.

// Kind is the kind of source: [static.NAME].
const Kind source.Kind = "static"

// Config is a [static.NAME] section.
type Config struct {
	source.Settings                   // merge, verify, labels, process
	Text            string            `toml:"text"`
	Delay           duration.Duration `toml:"delay"`
}

// Defaults fills what the operator left out of the kind's own keys.
func (c *Config) Defaults() {}

// Validate reports every problem of the kind's own keys, each prefixed
// with its key.
func (c *Config) Validate() error {
	if c.Text == "" {
		return errors.New("text: missing")
	}
	return nil
}

// Static is the source.
type Static struct{ text string }

// New makes the source of a section that passed Validate.
func New(cfg Config) *Static { return &Static{text: cfg.Text} }

// Scrape answers with the text.
func (s *Static) Scrape(ctx context.Context, _ source.Request) (*source.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, source.Fail(source.ReasonTimeout, err)
	}
	return &source.Response{ContentType: source.ContentTypeText, Body: io.NopCloser(strings.NewReader(s.text))}, nil
}

// Example_kind: what cmd/corral's list of kinds asks of a kind's config
// (Defaults, Validate, and Shared from the embedded settings) and of its
// source.
func Example_kind() {
	var cfg interface {
		Defaults()
		Validate() error
		Shared() *source.Settings
	} = &Config{Text: "up 1\n", Settings: source.Settings{Labels: map[string]string{"le": "x"}}}
	cfg.Shared().Defaults()
	cfg.Defaults()
	fmt.Println(cfg.Validate(), cfg.Shared().Validate("exporter"))

	var src source.Source = New(*cfg.(*Config))
	resp, _ := src.Scrape(context.Background(), source.Request{})
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s %q\n", Kind, body)
	// Output:
	// <nil> labels.le: "le" is reserved: histogram buckets carry it
	// static "up 1\n"
}
