package exposition

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestVerdictLexing holds the scanner to the way Prometheus' lexers read
// blanks, NUL bytes, names in braces and metadata lines (issue 15): each
// body with the exact error Validate gives ("<nil>" for a valid one) and
// the stricter rule the README lists it under ("" where Prometheus refuses
// it too, or accepts it).
func TestVerdictLexing(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body, want, rule string
	}{
		// Accepted before, refused by Prometheus.
		{"bare name in braces", ctText, "{a} 1\n", `line 1: expected '=' after label name "a"`, ""},
		{"bare name first in braces", ctText, "{a,b=\"c\"} 1\n", `line 1: expected '=' after label name "a"`, ""},
		{"bare colon in braces", ctText, "{:} 1\n", `line 1: invalid label name at ":} 1"`, ""},
		{"om bare name in braces", ctOM, "{A}0\n# EOF\n", `line 1: expected '=' after label name "A"`, ""},
		{"NUL in a quoted name", ctText, "{\"a\x00b\"} 1\n", `line 1: NUL byte in quoted name`, ""},
		{"om NUL in a quoted name", ctOM, "{\"a\x00b\"} 1\n# EOF\n", `line 1: NUL byte in quoted name`, ""},
		{"TYPE with a blank, no name", ctText, "# TYPE \nm 1\n", `line 1: TYPE without a metric name`, ""},
		{"HELP with blanks, no name", ctText, "# HELP \t\nm 1\n", `line 1: HELP without a metric name`, ""},
		{"TYPE with two blanks before the type", ctText, "# TYPE c  counter\nc 1\n", `line 1: unknown metric type " counter" for "c"`, ""},
		// Accepted by Prometheus, refused by expfmt (the README's rule).
		{"HELP name into a dot", ctText, "# HELP m.x\nm 1\n", `line 1: invalid metric name in HELP line`, ""},
		{"TYPE name into a dot", ctText, "# TYPE m.counter\nm 1\n", `line 1: invalid metric name in TYPE line`, ""},
		{"TYPE quoted name into a byte", ctText, "# TYPE \"m\"xcounter\nm 1\n", `line 1: invalid metric name in TYPE line`, ""},
		{"HELP quoted name into a byte", ctText, "# HELP \"m\"x y\nm 1\n", `line 1: invalid metric name in HELP line`, ""},
		{"HELP name into a quote, then a byte", ctText, "# HELP m\"x\"! y\nm 1\n", `line 1: invalid metric name in HELP line`, ""},
		{"HELP name into an open quote", ctText, "# HELP m\"x y\nm 1\n", `line 1: invalid metric name in HELP line`, ""},
		{"HELP name into a quote, expfmt's name's second HELP", ctText, "# HELP enam\".x\" a\n# HELP \"enam.x\" b\nenam 1\n", `line 2: second HELP line for metric name "enam.x"`, ""},
		{"TYPE name into a quote", ctText, "# TYPE m\"x\" counter\nm 1\n", `line 1: invalid metric name in TYPE line`, ""},
		{"empty quoted sample name", ctText, "{\"\"} 1\n", `line 1: empty quoted name`, ""},
		{"empty quoted label name", ctText, "m{\"\"=\"1\"} 1\n", `line 1: empty quoted name`, ""},
		{"om HELP name into a dot", ctOM, "# HELP m.x y\nm 1\n# EOF\n", `line 1: HELP line for "m": the name must be followed by one space and the text`, ""},
		{"TYPE with a blank and a tab", ctText, "# TYPE c \tcounter\n", `line 1: unknown metric type "\tcounter" for "c"`, ""},
		{"om two spaces after #", ctOM, "#  UNIT m_s s\n# EOF\n", `line 1: unexpected OpenMetrics comment ""`, ""},
		{"om two spaces before the name", ctOM, "# TYPE  d gauge\nd 1\n# EOF\n", `line 1: invalid metric name at " d gauge"`, ""},
		{"om two spaces before the type", ctOM, "# TYPE d  gauge\nd 1\n# EOF\n", `line 1: unknown metric type " gauge" for "d"`, ""},
		{"om tab after TYPE", ctOM, "# TYPE\tm gauge\nm 1\n# EOF\n", `line 1: unexpected OpenMetrics comment "TYPE\tm"`, ""},
		{"om HELP without text", ctOM, "# HELP m\nm 1\n# EOF\n", `line 1: HELP line for "m": the name must be followed by one space and the text`, ""},
		{"om tab in labels", ctOM, "a{b=\"c\",\td=\"e\"} 1\n# EOF\n", `line 1: invalid label name at "\td=\"e\"} 1"`, ""},
		{"om blank before labels", ctOM, "g {a=\"b\"} 1\n# EOF\n", `line 1: invalid value "{a=\"b\"}" for "g"`, ""},
		{"om blanks before the value", ctOM, "a1   11\n# EOF\n", `line 1: invalid value "" for "a1"`, ""},
		{"om no blank before the value", ctOM, "m{a=\"b\"}1\n# EOF\n", `line 1: expected one space before the value of "m"`, ""},
		{"om tab before the value", ctOM, "a \t1\n# EOF\n", `line 1: invalid value "\t1" for "a"`, ""},
		{"om value right after the name", ctOM, "a-3\n# EOF\n", `line 1: expected one space before the value of "a"`, ""},
		{"om exemplar labels without a comma", ctOM, "# TYPE c counter\nc_total 0 # {a=\"\"b=\"\"} 0\n# EOF\n", `line 2: expected ',' or '}' after exemplar label for "c_total"`, ""},
		{"name in braces twice", ctText, "{\"a\",\"b\"} 1\n", `line 1: expected '=' after label name "b"`, ""},
		{"protobuf HELP not UTF-8", ctProto, protoFamily(protoString(1, "m"), protoString(2, "\xff"), protoVarint(3, 1), protoBytes(4, protoBytes(2, protoFixed64(1, 1)))), `protobuf message 1: HELP of "m" is not valid UTF-8`, ""},
		{"protobuf wrong wire type", ctProto, protoFamily(protoFixed64(1, 1)), `protobuf message 1: wrong wire type 1 for field MetricFamily.name`, ""},

		// Refused before, accepted by Prometheus (and expfmt).
		{"#TYPE is a comment to Prometheus", ctText, "#TYPEm gaugehistogram\n#TYPE\n#HELP\n# TYPE m gauge\nm 1\n", "<nil>", ""},
		{"# TYPE without a blank after it is a comment", ctText, "# TYPE\nm 1\n", "<nil>", ""},
		{"name after a label", ctText, "{b=\"c\",\"a\"} 1\n", "<nil>", ""},
		{"name between labels", ctText, "{b=\"c\", \"a\" ,d=\"e\",} 1\n", "<nil>", ""},
		{"om name between labels", ctOM, "{b=\"c\",\"a\",d=\"e\"} 1\n# EOF\n", "<nil>", ""},
		{"value right after the name", ctText, "a-3\nb.5\nfoo90x1P-3\nc+1 15\n", "<nil>", ""},
		{"om bucket without le", ctOM, "# TYPE h histogram\nh_bucket{lte=\"x\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n# EOF\n", "<nil>", ""},
		{"om summary sample without quantile", ctOM, "# TYPE s summary\ns{q=\"1\"} 1\ns_count 1\ns_sum 1\n# EOF\n", "<nil>", ""},
		{"om gauge's _total, a family of its own", ctOM, "# TYPE g gauge\ng_total 1\n# EOF\n", "<nil>", ""},
		{"om NUL bytes after # EOF", ctOM, "a 1\n# EOF\n\x00\x00", "<nil>", ""},
		{"om NUL bytes in the # EOF line", ctOM, "a 1\n# EOF\x00\n\x00", "<nil>", ""},
		{"om NUL bytes after # EOF, no newline", ctOM, "a 1\n# EOF\x00", "<nil>", ""},
		{"om a line of NUL after # EOF", ctOM, "a 1\n# EOF\n\x00\n", `line 3: content after # EOF`, ""},
		{"invalid UTF-8 in a comment", ctText, "m 1\n# x\x82\n#x\xff\n", "<nil>", ""},
		{"NUL in HELP text", ctText, "# HELP m a\x00b\nm 1\n", "<nil>", ""},
		{"om NUL in HELP text", ctOM, "# HELP m a\x00b\nm 1\n# EOF\n", "<nil>", ""},
		{"protobuf empty family with a bad name", ctProto, protoFamily(protoString(1, "\xff")), "<nil>", ""},
		{"protobuf empty family without a name", ctProto, protoFamily(protoString(2, "help")), "<nil>", ""},
		{"empty quoted name in HELP and TYPE", ctText, "# HELP \"\"\n# HELP \"\" x\n# TYPE \"\" counter\nm 1\n", "<nil>", ""},
		{"om empty quoted name in HELP and TYPE", ctOM, "# HELP \"\" x\n# TYPE \"\" gauge\nm 1\n# EOF\n", "<nil>", ""},
		{"HELP name into a quote", ctText, "# HELP enam\".with.dots\" boring help\n# HELP enam other\nenam 1\n", "<nil>", ""},
		{"HELP name into an empty quote", ctText, "# HELP m\"\"\tx\nm 1\n", "<nil>", ""},

		// Refused under a stricter rule.
		{"NUL after #", ctText, "m 1\n# \x00\nn 2\n", `line 2: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"NUL in a comment", ctText, "#x\x00\nm 1\n", `line 1: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"NUL in the keyword", ctText, "# TY\x00PE m gauge\nm 1\n", `line 1: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"NUL before the name", ctText, "# TYPE \x00m gauge\nm 1\n", `line 1: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"om NUL before the name", ctOM, "# TYPE \x00m gauge\nm 1\n# EOF\n", `line 1: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"om NUL in EOF", ctOM, "a 1\n# E\x00OF\n", `line 2: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"om NUL in EOF without newline", ctOM, "a 1\n# E\x00OF", `line 2: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"om exemplar label with the empty name", ctOM, "a 0 # {\"\"=\"\"} 0\n# EOF\n", `line 1: empty label name in an exemplar for "a"`, StricterExemplarName},
		{"om exemplar label with the empty name second", ctOM, "# TYPE a counter\na_total 0 # {b=\"1\",\"\"=\"x\"} 0\n# EOF\n", `line 2: empty label name in an exemplar for "a_total"`, StricterExemplarName},
		{"NUL in a last comment without newline", ctText, "m 1\n# x\x00", `line 2: NUL byte in a comment line (other than in HELP text)`, StricterNUL},
		{"#TYPE, metadata to expfmt", ctText, "#TYPE m gaugehistogram\nm 1\n", `line 1: TYPE right after '#': a comment to Prometheus, metadata to expfmt`, StricterHashKeyword},
		{"#HELP, metadata to expfmt", ctText, "m 1\n #HELP\tm x\n", `line 2: HELP right after '#': a comment to Prometheus, metadata to expfmt`, StricterHashKeyword},
		{"blanks before the name", ctText, "m 1\n \tb{c=\"d\"} 2\n", `line 2: blanks before the metric name "b{c=\"d\"} 2"`, StricterLeadingBlank},
		{"om le not a number", ctOM, "# TYPE h histogram\nh_bucket{le=\"x\"} 1\n# EOF\n", `line 2: invalid le label value "x"`, StricterBound},
		{"om quantile not a number", ctOM, "# TYPE s summary\ns{quantile=\"x\"} 1\n# EOF\n", `line 2: invalid quantile label value "x"`, StricterBound},
		{"le of a histogram's _sum not a number", ctText, "# TYPE h histogram\nh_sum{le=\"\"} 0\n", `line 2: invalid le label value ""`, ""},
		{"le of a histogram's plain sample not a number", ctText, "# TYPE h histogram\nh{le=\"x\"} 0\n", `line 2: invalid le label value "x"`, ""},
		{"quantile of a summary's _sum not a number", ctText, "# TYPE s summary\ns_sum{quantile=\"x\"} 0\n", `line 2: invalid quantile label value "x"`, ""},
		{"om le of a histogram's _count not a number", ctOM, "# TYPE h histogram\nh_count{le=\"x\"} 0\n# EOF\n", `line 2: invalid le label value "x"`, StricterBound},
		{"om unknown escape in HELP", ctOM, "# HELP m a\\x\nm 1\n# EOF\n", `line 1: invalid escape sequence in HELP text`, StricterEscape},
		{"om unknown escape in a name", ctOM, "{\"a\\c\"} 1\n# EOF\n", `line 1: invalid escape sequence in "a\\c"`, StricterEscape},
		{"om newline in a quoted name", ctOM, "{\"a\nb\"} 1\n# EOF\n", `line 1: unterminated quoted name`, StricterNewline},
		{"om interleaved", ctOM, "a 1\nb 1\na 2\n# EOF\n", `line 3: samples of "a" are not in one block`, StricterBlock},
		{"om member after another family's metadata", ctOM, "# TYPE c counter\n# HELP A0 \nc_total 0\nc_created 1\n# EOF\n", `line 3: samples of "c" are not in one block`, StricterBlock},
		{"om member after another family's metadata and sample", ctOM, "# TYPE h histogram\n# HELP A \nB 0\nh_bucket{le=\"+Inf\"} 0\nh_count 0\nh_sum 0\nh_created 1\n# EOF\n", `line 4: samples of "h" are not in one block`, StricterBlock},
		{"om member after another family's sample", ctOM, "# TYPE h histogram\n# HELP h x\nB 0\nh_bucket{le=\"+Inf\"} 0\nh_count 0\nh_sum 0\nh_created 1\n# EOF\n", "<nil>", ""},
		{"om TYPE after samples", ctOM, "a 1\n# TYPE a gauge\n# EOF\n", `line 2: metadata for "a" after its samples or in two places`, StricterBlock},
		{"om TYPE name not UTF-8", ctOM, "# TYPE \"a\xc3\" gauge\na 1\n# EOF\n", `line 1: invalid UTF-8 in a HELP, TYPE or UNIT line`, StricterMetaUTF8},
		{"om exemplar label name not UTF-8", ctOM, "A 0 # {\"\x87\"=\"\"} 0\n# EOF", `line 1: invalid UTF-8 in an exemplar`, StricterMetaUTF8},
		{"om exemplar label value not UTF-8", ctOM, "a_total 0 # {b=\"\xc3\"} 0\n# EOF\n", `line 1: invalid UTF-8 in an exemplar`, StricterMetaUTF8},
		{"om label value not UTF-8 holding ' # '", ctOM, "a{b=\" # \xc3\"} 0 # {c=\"d\"} 1\n# EOF\n", `line 1: invalid UTF-8`, ""},
		{"om label value not UTF-8 before an exemplar", ctOM, "a{b=\"\xc3\"} 0 # {c=\"d\"} 1\n# EOF\n", `line 1: invalid UTF-8`, ""},
		{"text sample not UTF-8 after ' # '", ctText, "a 0 # {b=\"\xc3\"} 0\n", `line 1: invalid UTF-8`, ""},
		{"TYPE name not UTF-8", ctText, "# TYPE \"a\xc3\" gauge\na 1\n", `line 1: invalid UTF-8 in a HELP, TYPE or UNIT line`, StricterMetaUTF8},
		{"om counter sample without _total", ctOM, "# TYPE a counter\na 1\n# EOF\n", `line 2: counter "a": sample must end in _total or _created`, StricterSuffix},
		{"om info sample without _info", ctOM, "# TYPE a info\na 1\n# EOF\n", `line 2: info "a": sample must end in _info`, StricterSuffix},
		{"om histogram plain sample", ctOM, "# TYPE a histogram\na 1\n# EOF\n", `line 2: histogram "a": sample "a" must end in _bucket, _sum or _count`, StricterSuffix},
		{"om gauge histogram's _sum", ctOM, "# TYPE gh gaugehistogram\ngh_sum 0\n# EOF\n", `line 2: gaugehistogram "gh": sample "gh_sum" is not one of its members`, StricterSuffix},
		{"om counter's _sum", ctOM, "# TYPE c counter\nc_total 1\nc_sum 0\n# EOF\n", `line 3: counter "c": sample "c_sum" is not one of its members`, StricterSuffix},
		{"om summary's _bucket", ctOM, "# TYPE s summary\ns_bucket{le=\"1\"} 0\n# EOF\n", `line 2: summary "s": sample "s_bucket" is not one of its members`, StricterSuffix},
		{"om second TYPE", ctOM, "# TYPE a gauge\n# TYPE a counter\na_total 1\n# EOF\n", `line 2: second TYPE line for metric name "a"`, StricterMetaTwice},
		{"om second HELP", ctOM, "# HELP a x\n# HELP a y\na 1\n# EOF\n", `line 2: second HELP line for metric name "a"`, StricterMetaTwice},
		{"om negative timestamp", ctOM, "a 1 -1.5\n# EOF\n", `line 1: timestamp "-1.5" for "a" out of the text format's range`, StricterTimestamp},
		{"protobuf counter with a gauge value", ctProto, protoFamily(protoString(1, "m"), protoVarint(3, 0), protoBytes(4, protoBytes(2, protoFixed64(1, 1)))), `protobuf message 1: family "m" of type COUNTER: metric without a COUNTER value (Prometheus would read 0)`, StricterProtoValue},
		{"protobuf group of mismatched numbers", ctProto, protoFamily(protoString(1, "m"), protowire.AppendTag(protowire.AppendTag(nil, 8, protowire.StartGroupType), 9, protowire.EndGroupType)), `protobuf message 1: proto: cannot parse invalid wire-format data`, StricterProtoEncoding},
		{"protobuf field number out of range", ctProto, protoFamily(protoString(1, "m"), []byte("\xad\xad\xad\xad\xad\x300000")), `protobuf message 1: proto: cannot parse invalid wire-format data`, StricterProtoEncoding},
		{"protobuf group skipped as unknown", ctProto, protoFamily(protoString(1, "m"), protoVarint(3, 1), protoBytes(4, protoBytes(2, protoFixed64(1, 1))), protowire.AppendTag(protowire.AppendTag(nil, 8, protowire.StartGroupType), 8, protowire.EndGroupType)), "<nil>", ""},
		{"protobuf end group without a group", ctProto, protoFamily(protoString(1, "m"), protowire.AppendTag(nil, 8, protowire.EndGroupType)), `protobuf message 1: proto: MetricFamily: end group for non-group`, ""},
		{"protobuf packed doubles read past the list", ctProto, protoHistogram(append(protoBytes(14, []byte{0, 0, 0}), 0, 0, 0, 0xf0, 0x3f)), `protobuf message 1: proto: cannot parse invalid wire-format data`, StricterProtoEncoding},
		{"protobuf packed varint read past the list", ctProto, protoHistogram(append(protoBytes(13, []byte{0x82}), 0x01)), `protobuf message 1: proto: cannot parse invalid wire-format data`, StricterProtoEncoding},
		{"protobuf packed doubles past the message", ctProto, protoHistogram(protoBytes(14, []byte{0, 0, 0})), `protobuf message 1: unexpected EOF`, ""},
		{"protobuf packed varint past the message", ctProto, protoHistogram(protoBytes(13, []byte{0x82})), `protobuf message 1: unexpected EOF`, ""},
		{"protobuf family in two messages", ctProto, protoFamily(protoString(1, "m"), protoVarint(3, 1), protoBytes(4, protoBytes(2, protoFixed64(1, 1)))) + protoFamily(protoString(1, "n"), protoVarint(3, 1), protoBytes(4, protoBytes(2, protoFixed64(1, 1)))) + protoFamily(protoString(1, "m"), protoVarint(3, 1), protoBytes(4, append(protoBytes(1, append(protoString(1, "a"), protoString(2, "b")...)), protoBytes(2, protoFixed64(1, 1))...))), `protobuf message 3: family "m" again, after an earlier message`, StricterMetaTwice},
		{"protobuf family in two messages, the first without metrics", ctProto, protoFamily(protoString(1, "m"), protoVarint(3, 1)) + protoFamily(protoString(1, "m"), protoVarint(3, 1), protoBytes(4, protoBytes(2, protoFixed64(1, 1)))), "<nil>", ""},
		{"protobuf unknown field longer than the message", ctProto, protoFamily(protoString(1, "m"), protowire.AppendVarint(protowire.AppendTag(nil, 6, protowire.BytesType), 1<<62)), `protobuf message 1: unexpected EOF`, ""},
		{"protobuf unknown field of a ten-byte length", ctProto, protoFamily(protoString(1, "m_after_which_i_wraps"), []byte("\x32\xef\xff\xff\xff\xff\xff\xff\xff\xff\x30")), `protobuf message 1: unexpected EOF`, ""},
		{"protobuf unknown field's group holding a long field", ctProto, protoFamily(protoString(1, "m"), protowire.AppendVarint(protowire.AppendTag(protowire.AppendTag(nil, 6, protowire.StartGroupType), 7, protowire.BytesType), 1<<63-2)), `protobuf message 1: unexpected EOF`, ""},
		{"protobuf field 0", ctProto, protoFamily(protoString(1, "m"), protoVarint(0, 1)), `protobuf message 1: proto: MetricFamily: illegal tag 0`, ""},
	} {
		err := Validate(tc.contentType, []byte(tc.body))
		var rule string
		var pe *ParseError
		if errors.As(err, &pe) {
			rule = pe.Stricter
		}
		if have := errString(err); have != tc.want || rule != tc.rule {
			t.Errorf("%s: %q\nwant %s (rule %q)\nhave %s (rule %q)", tc.name, tc.body, tc.want, tc.rule, have, rule)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), "\u00a0", " ") // protobuf's errors randomise spaces
}

// protoFamily is a delimited protobuf body of one message of fields.
func protoFamily(fields ...[]byte) string {
	var msg []byte
	for _, f := range fields {
		msg = append(msg, f...)
	}
	return string(protowire.AppendBytes(nil, msg))
}

// protoHistogram is a body of one native histogram with one positive
// bucket, whose fields end with tail.
func protoHistogram(tail []byte) string {
	h := append(protoVarint(1, 1), protoFixed64(2, 0x3ff0000000000000)...)
	h = append(h, protoBytes(12, append(protoVarint(1, 0), protoVarint(2, 1)...))...)
	h = append(append(h, protoFixed64(6, 0x3ff0000000000000)...), tail...)
	return protoFamily(protoString(1, "h"), protoVarint(3, 4), protoBytes(4, protoBytes(7, h)))
}

func protoString(num protowire.Number, v string) []byte {
	return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func protoBytes(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func protoVarint(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func protoFixed64(num protowire.Number, v uint64) []byte {
	return protowire.AppendFixed64(protowire.AppendTag(nil, num, protowire.Fixed64Type), v)
}
