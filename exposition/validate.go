package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scanners holds scanners between uses so that their slices and maps are
// reused across scrapes.
var scanners = sync.Pool{New: func() any { return newScanner() }}

// Validate reports whether body is a valid exposition in the format its
// Content-Type names. Text is checked by a scan of the bytes, strict enough
// that what passes is accepted by Prometheus' text parser; OpenMetrics 1.0.0
// by the same scan in OpenMetrics mode (expfmt has no OpenMetrics parser);
// delimited protobuf by expfmt's decoder. Errors name the line:
// "line 12: ...".
func Validate(contentType string, body []byte) error {
	f := FormatOf(contentType)
	switch f {
	case Text, OpenMetrics:
		s := scanners.Get().(*scanner)
		err := s.scan(body, f == OpenMetrics, nil)
		s.reset(nil, false, nil)
		scanners.Put(s)
		return err
	case Protobuf:
		return decodeProto(body, func(*dto.MetricFamily) error { return nil })
	default:
		return fmt.Errorf("unsupported content type %q", contentType)
	}
}

// decodeProto decodes every family of a delimited protobuf body, checks it
// and hands it to fn. The family passed to fn is fresh for each call.
func decodeProto(body []byte, fn func(*dto.MetricFamily) error) error {
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.FmtProtoDelim.WithEscapingScheme(model.NoEscaping))
	for i := 1; ; i++ {
		mf := &dto.MetricFamily{}
		err := dec.Decode(mf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
		}
		if err := checkFamily(mf); err != nil {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
		}
		if err := fn(mf); err != nil {
			return err
		}
	}
}

// checkFamily verifies that every metric of mf carries the value its type
// promises.
func checkFamily(mf *dto.MetricFamily) error {
	for _, m := range mf.GetMetric() {
		if m == nil {
			return fmt.Errorf("family %q: empty metric", mf.GetName())
		}
		ok := false
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			ok = m.Counter != nil
		case dto.MetricType_GAUGE:
			ok = m.Gauge != nil
		case dto.MetricType_SUMMARY:
			ok = m.Summary != nil
		case dto.MetricType_UNTYPED:
			ok = m.Untyped != nil
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			ok = m.Histogram != nil
		}
		if !ok {
			return fmt.Errorf("family %q of type %s: metric without a %s value", mf.GetName(), mf.GetType(), mf.GetType())
		}
	}
	return nil
}
