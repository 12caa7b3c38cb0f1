package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"sync"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
)

// A protobuf body is checked, and written as text for the plan, on the
// wire, never decoded into client_model's messages (which costs ten times
// the body in allocations). readProto reads each message as protobuf-go's
// Unmarshal would have it: of a singular field the last occurrence counts,
// a message field that occurs twice is the merge of both (their fields
// read one after the other), a repeated field collects its occurrences,
// packed or not, and unknown fields are skipped.

// readProto reads a delimited protobuf body family by family and refuses
// what Prometheus' decoder refuses (checkWire), what protobuf-go refuses
// (under the README's stricter rule), and names, HELP and values as
// checkNames and checkValues say. fn, if not nil, is handed each family
// with metrics (Prometheus reads nothing of one without, nor checks it),
// and with dst its text is appended to dst. Each length prefix is held to
// the bytes that are left: a hostile prefix fails the body, it never makes
// corral allocate past it.
func readProto(body []byte, dst *bytes.Buffer, fn func(*wireFamily)) error {
	var f wireFamily
	var t protoText
	names := namesPool.Get().(*familyNames)
	defer names.release()
	for i := 1; len(body) > 0; i++ {
		n, k := protowire.ConsumeVarint(body)
		if k < 0 {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: bad length prefix", i)}
		}
		if n > uint64(len(body)-k) {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: length %d runs past the end of the body (%d bytes left)", i, n, len(body)-k)}
		}
		msg := body[k : k+int(n) : k+int(n)]
		body = body[k+int(n):]
		if err := checkWire(msg, familyDescriptor); err != nil {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
		}
		if !goReads(msg, msgFamily) {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, errGoDecode), Stricter: StricterProtoEncoding}
		}
		f.read(msg)
		if f.metrics == 0 {
			continue
		}
		if err := f.checkNames(); err != nil {
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
		}
		if err := f.checkValues(); err != nil {
			pe := &ParseError{Msg: fmt.Sprintf("protobuf message %d: %v", i, err)}
			if errors.Is(err, errTypeValue) {
				pe.Stricter = StricterProtoValue
			}
			return pe
		}
		if names.again(f.name) {
			// Prometheus reads both; the merge writes one HELP and TYPE
			// for a family, as for a second TYPE line.
			return &ParseError{Msg: fmt.Sprintf("protobuf message %d: family %q again, after an earlier message", i, f.name), Stricter: StricterMetaTwice}
		}
		if dst != nil {
			t.family(dst, &f)
		}
		if fn != nil {
			fn(&f)
		}
	}
	return nil
}

// familyNames are the names of a body's families so far, as slices of the
// body, by hash (a probe past a different name of the same hash); pooled,
// so that its table is made once, not per body.
type familyNames struct {
	seen map[uint64][]byte
}

var (
	familySeed = maphash.MakeSeed()
	namesPool  = sync.Pool{New: func() any { return &familyNames{seen: map[uint64][]byte{}} }}
)

// release forgets the body's names (which hold it) and pools fn.
func (fn *familyNames) release() {
	if len(fn.seen) > 1<<16 {
		fn.seen = map[uint64][]byte{} // a table grown on a hostile body is not kept
	}
	clear(fn.seen)
	namesPool.Put(fn)
}

// again tells whether name was given before, and remembers it.
func (fn *familyNames) again(name []byte) bool {
	for h := maphash.Bytes(familySeed, name); ; h++ {
		prev, ok := fn.seen[h]
		if !ok {
			fn.seen[h] = name
			return false
		}
		if bytes.Equal(prev, name) {
			return true
		}
	}
}

// wireField is one field of a message readProto has checked.
type wireField struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // a varint, fixed32 or fixed64
	b   []byte // a length-delimited value
}

// is tells whether w is field num of wire type typ.
func (w *wireField) is(num protowire.Number, typ protowire.Type) bool {
	return w.num == num && w.typ == typ
}

// nextField reads the field at the start of b, which checkWire and goReads
// have passed, and gives the rest of b.
func nextField(b []byte) (w wireField, rest []byte) {
	tag, n := protowire.ConsumeVarint(b)
	b = b[n:]
	w.num, w.typ = protowire.Number(tag>>3), protowire.Type(tag&7)
	switch w.typ {
	case protowire.VarintType:
		w.v, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		w.v, n = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var v uint32
		v, n = protowire.ConsumeFixed32(b)
		w.v = uint64(v)
	case protowire.BytesType:
		w.b, n = protowire.ConsumeBytes(b)
	default:
		n = protowire.ConsumeFieldValue(w.num, w.typ, b)
	}
	return w, b[n:]
}

// wireFamily is what readProto reads of a family's message.
type wireFamily struct {
	msg              []byte
	name, help, unit []byte
	hasHelp          bool
	typ              dto.MetricType
	metrics          int
}

func (f *wireFamily) read(msg []byte) {
	*f = wireFamily{msg: msg}
	for b := msg; len(b) > 0; {
		var w wireField
		switch w, b = nextField(b); {
		case w.is(1, protowire.BytesType):
			f.name = w.b
		case w.is(2, protowire.BytesType):
			f.help, f.hasHelp = w.b, true
		case w.is(3, protowire.VarintType):
			f.typ = dto.MetricType(int32(w.v))
		case w.is(4, protowire.BytesType):
			f.metrics++
		case w.is(5, protowire.BytesType):
			f.unit = w.b
		}
	}
}

// messages yields every occurrence of length-delimited field num of message
// b, which readProto has checked, in order.
func messages(b []byte, num protowire.Number) iter.Seq[wireField] {
	return func(yield func(wireField) bool) {
		for len(b) > 0 {
			var w wireField
			if w, b = nextField(b); w.is(num, protowire.BytesType) && !yield(w) {
				return
			}
		}
	}
}

// wireLabel is a LabelPair message's name and value.
func wireLabel(msg []byte) (name, value []byte) {
	for b := msg; len(b) > 0; {
		var w wireField
		switch w, b = nextField(b); {
		case w.is(1, protowire.BytesType):
			name = w.b
		case w.is(2, protowire.BytesType):
			value = w.b
		}
	}
	return name, value
}

// checkNames holds f's names, HELP and label values to what expfmt's
// decoder takes without escaping, and Prometheus' parser takes: UTF-8.
func (f *wireFamily) checkNames() error {
	if len(f.name) == 0 || !utf8.Valid(f.name) {
		return fmt.Errorf("invalid metric name %q", f.name)
	}
	if !utf8.Valid(f.help) {
		return fmt.Errorf("HELP of %q is not valid UTF-8", f.name)
	}
	for w := range messages(f.msg, 4) {
		for l := range messages(w.b, 1) {
			name, value := wireLabel(l.b)
			if !utf8.Valid(value) {
				return fmt.Errorf("invalid label value %q", value)
			}
			if len(name) == 0 || !utf8.Valid(name) {
				return fmt.Errorf("invalid label name %q", name)
			}
		}
	}
	return nil
}

// errTypeValue is a metric without the value its family's type names,
// which Prometheus reads as 0: refused under the README's stricter rule.
var errTypeValue = errors.New("Prometheus would read 0")

// checkValues verifies that every metric of f carries the value its type
// promises, and that the native histograms of a histogram (or gauge
// histogram) family are as Prometheus takes them (checkNative).
func (f *wireFamily) checkValues() error {
	var m wireMetric
	afterNative := false
	for w := range messages(f.msg, 4) {
		m.read(w.b, f.typ)
		value := valueField(f.typ)
		if value == 0 {
			return fmt.Errorf("family %q: unknown metric type %d", f.name, f.typ)
		}
		if m.has&(1<<value) == 0 {
			return fmt.Errorf("family %q of type %s: metric without a %s value (%w)", f.name, f.typ, f.typ, errTypeValue)
		}
		if f.typ != dto.MetricType_HISTOGRAM && f.typ != dto.MetricType_GAUGE_HISTOGRAM {
			continue // Prometheus reads no histogram of another type's metric
		}
		if err := m.checkNative(afterNative); err != nil {
			return fmt.Errorf("family %q: native histogram: %w", f.name, err)
		}
		afterNative = m.native()
	}
	return nil
}

// valueField is the Metric field that holds the value of a metric of a
// family of type typ; 0 for a type Prometheus does not know.
func valueField(typ dto.MetricType) protowire.Number {
	switch typ {
	case dto.MetricType_COUNTER:
		return 3
	case dto.MetricType_GAUGE:
		return 2
	case dto.MetricType_SUMMARY:
		return 4
	case dto.MetricType_UNTYPED:
		return 5
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		return 7
	}
	return 0
}
