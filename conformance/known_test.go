package conformance

// The causes of the disagreements known today. "issue 15" marks the causes
// issue 15 names that the engine split (issue 16) left; "found here" what
// this suite found beyond them. What the README documents an output cannot
// carry (documented.go) is not a disagreement and is not listed.
const (
	omCreatedOther    = "upstream: with created-timestamp ingestion on, Prometheus v0.316.0's OpenMetrics parser skips every sample named X_created after a counter, summary or histogram TYPE line, of whatever family (it checks the type of the last TYPE line and the suffix, not the family), and no series gets its value as a start timestamp: the sample is lost; or, where a series of the name it is X_created of comes before it (of a family of no type), reads it as that series' start timestamp; and a series whose own X_created line comes after such a line of another family gets no start timestamp (the parser's look-ahead stops at the first X_created line). corral reads it as Prometheus does by default, a series of its own family, and writes it so: Prometheus with that ingestion on reads one series more from corral's OpenMetrics and protobuf answers than from the source. Not avoided: leaving it out would lose it for Prometheus by default"
	omMetaEscapes     = "upstream: Prometheus v0.316.0's OpenMetrics parser gives the quoted family name of a UNIT (and TYPE, HELP) line as written, its escapes kept (\"a\\\"b\" as a\\\"b), and its series' names unescaped: the unit of a family whose name holds '\"', '\\' or a newline is read under another name than its series'. corral's OpenMetrics output with UTF-8 names escapes such a name as the specification requires (from an OpenMetrics source the name is the same as written, from protobuf it is not). Not avoidable: the escape is the only way to write the name"
	omExemplarEscapes = "upstream: Prometheus v0.316.0's OpenMetrics parser gives an exemplar's label names and values as written, their escapes kept (a=\"x\\\"y\" as x\\\"y), where it unescapes a series' (the specification escapes both alike). corral reads and writes them as the specification says: an exemplar label holding '\"', '\\' or a newline from a protobuf source is read differently in corral's OpenMetrics output than in the source, and one from an OpenMetrics source differently in corral's protobuf output (OpenMetrics to OpenMetrics agrees: the escapes are written back). Not avoided: reading them as Prometheus does would give every other reader, and Prometheus reading protobuf, values the source never sent"
	protoExemplarsB   = "upstream: Prometheus v0.316.0's protobuf parser loses the bucket exemplars of every native histogram after the first of a family message (it resets its bucket position between messages, not between metrics); corral's output carries them, but in a merge of two sources the second source's are lost. Not avoided: only a message of its own for each such histogram would, a family written twice in one answer (which corral never does: other readers take the family once), and Prometheus scraping one source with two of them directly loses them the same way"
)

// knownDisagreements lists every disagreement with Prometheus the vectors
// show today, keyed "<vector>/<property>" (verdict, or the output format
// of a merge), with its cause. TestVectors fails on a disagreement missing
// here and on an entry that no longer occurs, so the list only shrinks as
// fixes land.
func knownDisagreements() map[string]string {
	return map[string]string{
		"corral-protobuf-native-exemplars-second-histogram.pb/proto":  protoExemplarsB,
		"corral-om-created-after-other-type.om/om":                    omCreatedOther,
		"corral-om-created-after-other-type-read-as-start.om/om":      omCreatedOther,
		"corral-om-created-after-other-type-read-as-start.om/om-utf8": omCreatedOther,
		"corral-om-created-after-other-type-read-as-start.om/proto":   omCreatedOther,
		"corral-protobuf-unit-name-with-quote.pb/om-utf8":             omMetaEscapes,
		"corral-om-created-after-other-type.om/om-utf8":               omCreatedOther,
		"corral-om-created-after-other-type.om/proto":                 omCreatedOther,
		"corral-om-created-of-other-family-between.om/om":             omCreatedOther,
		"corral-om-created-of-other-family-between.om/om-utf8":        omCreatedOther,
		"corral-om-created-of-other-family-between.om/proto":          omCreatedOther,
		"corral-om-created-of-other-family-before-own.om/om":          omCreatedOther,
		"corral-om-created-of-other-family-before-own.om/om-utf8":     omCreatedOther,
		"corral-om-created-of-other-family-before-own.om/proto":       omCreatedOther,
		"corral-protobuf-bucket-exemplar-label-name-quote.pb/om":      omExemplarEscapes,
		"corral-protobuf-bucket-exemplar-label-name-quote.pb/om-utf8": omExemplarEscapes,
		"corral-protobuf-exemplar-escape-brace-in-name.pb/om":         omExemplarEscapes,
		"corral-protobuf-exemplar-escape-brace-in-name.pb/om-utf8":    omExemplarEscapes,
		"corral-protobuf-bucket-exemplar-label-name-quote.pb/proto":   protoExemplarsB,
		"corral-om-exemplar-label-value-escaped.om/proto":             omExemplarEscapes,
		"corral-protobuf-exemplar-label-name-quote.pb/om":             omExemplarEscapes,
		"corral-protobuf-exemplar-label-name-quote.pb/om-utf8":        omExemplarEscapes,
		"corral-protobuf-exemplar-label-value-escapes.pb/om":          omExemplarEscapes,
		"corral-protobuf-exemplar-label-value-escapes.pb/om-utf8":     omExemplarEscapes,
	}
}
