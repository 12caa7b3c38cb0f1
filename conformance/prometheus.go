package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// Series is one sample as Prometheus' scrape would append it.
type Series struct {
	Labels    labels.Labels
	Value     float64                   // for a float sample
	Histogram *histogram.FloatHistogram // for a native histogram sample
	Timestamp *int64                    // milliseconds, when the body gave one
	Exemplars []exemplar.Exemplar
	Family    string // the family corral groups it in (familyReader)
	Start     int64  // start (created) timestamp in milliseconds, 0 for none; read by ParseStart only
}

// ErrEndlessExemplars is Prometheus' parser giving one exemplar after
// another for a series, without end (Prometheus v0.316.0's OpenMetrics
// parser does on some malformed exemplars, and its scrape loop then never
// returns).
var ErrEndlessExemplars = errors.New("Prometheus' parser gives exemplars without end")

// maxExemplars bounds the exemplars read for one sample: OpenMetrics allows
// one, protobuf one per bucket.
const maxExemplars = 1000

// View says how Prometheus is asked to read native histograms.
type View int

const (
	// Native reads native histograms as such (Prometheus' default).
	Native View = iota
	// Classic ignores native histograms and reads their classic buckets,
	// as a reader of a text format sees them.
	Classic
)

// Parse reads body as Prometheus' scrape loop does for a target answering
// with contentType, with the default settings, and gives its samples in
// order. Start (created) timestamps are not read, as Prometheus does not
// by default: OpenMetrics _created lines are series of their own then
// (ParseStart reads them). The error is the
// scrape's failure: the parser's error, or a series Prometheus refuses
// whole (no metric name, names that are not valid UTF-8, a label name
// given twice, a native histogram whose spans and buckets differ in
// number or whose counts the TSDB refuses). Duplicate series are not an error (Prometheus counts and
// skips them) and are returned as read.
func Parse(contentType string, body []byte, view View) ([]Series, error) {
	return parse(contentType, body, view, false)
}

// ParseStart is Parse as Prometheus reads a target with start (created)
// timestamps on (--enable-feature=created-timestamp-zero-ingestion): an
// OpenMetrics counter's, summary's or histogram's _created sample is no
// series of its own but the start timestamp of its series, as protobuf's
// created_timestamp is.
func ParseStart(contentType string, body []byte, view View) ([]Series, error) {
	return parse(contentType, body, view, true)
}

func parse(contentType string, body []byte, view View, start bool) ([]Series, error) {
	p, err := textparse.New(body, contentType, labels.NewSymbolTable(), textparse.ParserOptions{
		IgnoreNativeHistograms:  view == Classic,
		OpenMetricsSkipSTSeries: start,
	})
	if p == nil {
		return nil, fmt.Errorf("content type %q: %w", contentType, err)
	}
	var out []Series
	families := newFamilyReader(contentType)
	var created createdAhead
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		var s Series
		switch et {
		case textparse.EntrySeries:
			_, s.Timestamp, s.Value = p.Series()
		case textparse.EntryHistogram:
			var h *histogram.Histogram
			_, s.Timestamp, h, s.Histogram = p.Histogram()
			if h != nil {
				s.Histogram = h.ToFloat(nil)
			}
			// The scrape loop's TSDB checks the histogram the parser
			// has compacted (Validate) and fails the whole scrape on
			// one it refuses: spans for another number of buckets than
			// it has, a bucket behind the one before it, a schema it
			// does not know, counts below 0 or not adding up.
			verr := s.Histogram.Validate()
			if h != nil {
				verr = h.Validate()
			}
			if verr != nil {
				return out, fmt.Errorf("native histogram: %w", verr)
			}
		case textparse.EntryType:
			name, typ := p.Type()
			families.typed(string(name), typ)
			continue
		case textparse.EntryHelp:
			name, _ := p.Help()
			families.named(string(name))
			continue
		case textparse.EntryUnit:
			name, _ := p.Unit()
			families.named(string(name))
			continue
		default:
			continue
		}
		if s.Timestamp != nil {
			t := *s.Timestamp // the parser reuses its storage
			s.Timestamp = &t
		}
		p.Labels(&s.Labels)
		if start && created.possible(body, p) {
			s.Start = p.StartTimestamp() // after Labels, before Exemplar, as the scrape loop asks
		}
		if !s.Labels.Has(model.MetricNameLabel) {
			return out, fmt.Errorf("missing metric name: %s", s.Labels)
		}
		s.Family = families.of(s.Labels.Get(model.MetricNameLabel))
		if !s.Labels.IsValid(model.UTF8Validation) {
			return out, fmt.Errorf("invalid metric name or label names: %s", s.Labels)
		}
		if name, dup := s.Labels.HasDuplicateLabelNames(); dup {
			return out, fmt.Errorf("label name %q is not unique: %s", name, s.Labels)
		}
		var e exemplar.Exemplar
		for p.Exemplar(&e) {
			if len(s.Exemplars) == maxExemplars {
				// Prometheus' scrape loop would loop here for good.
				return out, fmt.Errorf("%w: %s", ErrEndlessExemplars, s.Labels)
			}
			s.Exemplars = append(s.Exemplars, e)
			e = exemplar.Exemplar{}
		}
		out = append(out, s)
	}
}

// createdAhead tells, cheaply, where an OpenMetrics parser's StartTimestamp
// can only give 0: it reads on from the series to the next metadata line
// ("# ") for a _created line of the same series, so with no "_created"
// between the series and that line there is none. StartTimestamp reads the
// rest of the family for each series, which on a family of thousands of
// series without _created took a fuzz worker past Go's 10 s per input.
type createdAhead struct {
	created, meta int // the next "_created" and "\n#" at or after the last offset asked; -1 before the first
	asked         bool
}

// possible tells whether StartTimestamp may give other than 0 for the
// series parser p read last from body: always for a format other than
// OpenMetrics, and where the series is not found in body.
func (c *createdAhead) possible(body []byte, p textparse.Parser) bool {
	op, ok := p.(*textparse.OpenMetricsParser)
	if !ok {
		return true
	}
	series, _, _ := op.Series()
	// The parser's series is a slice of body: its offset in body is told
	// by its capacity. A series found elsewhere is not ruled out.
	at := cap(body) - cap(series)
	if at < 0 || at > len(body) || !bytes.HasPrefix(body[at:], series) {
		return true
	}
	if !c.asked || c.created >= 0 && c.created < at {
		c.created = index(body, at, "_created")
	}
	if !c.asked || c.meta >= 0 && c.meta < at {
		c.meta = index(body, at, "\n#")
	}
	c.asked = true
	return c.created >= 0 && (c.meta < 0 || c.created < c.meta)
}

// index is the offset in body of the first sep at or after at, or -1.
func index(body []byte, at int, sep string) int {
	if i := bytes.Index(body[at:], []byte(sep)); i >= 0 {
		return at + i
	}
	return -1
}
