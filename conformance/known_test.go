package conformance

// The causes of the disagreements known today. "issue 15" marks the causes
// issue 15 names (the engine's items: negative timestamps, collisions after
// escaping, the OpenMetrics writer, verdicts, what OpenMetrics output
// loses); "issue 16" the deduplication of labels as spelled; "found here"
// what this suite found beyond both.
const (
	negativeTimestamp = "issue 15: a negative timestamp is accepted; Prometheus' text parser refuses it"
	unitNotSuffix     = "issue 15: a UNIT that is not a suffix of the metric name is accepted; Prometheus refuses it"
	plainUnderType    = "issue 15: a plain sample under a histogram or summary TYPE is refused; Prometheus accepts it"
	bucketWithoutLe   = "issue 15: a bucket without le is refused; Prometheus accepts it"
	emptyHelpTwice    = "issue 15: an empty HELP followed by another is refused; Prometheus and expfmt accept it"
	escapedCollision  = "issue 15: names that collide once escaped to underscores give a label twice or a series twice"
	omFloatHistogram  = "issue 15: the OpenMetrics writer fails on fractional bucket counts, so the merge stops mid-body"
	omLost            = "issue 15: OpenMetrics input loses exemplars, _created, or gauge histograms on the way out"
	spelledLabels     = "issue 16: labels are deduplicated as spelled, so one series spelled three ways is written three times"
	nameInBraces      = "found here: a metric name inside the braces after a label is refused; Prometheus accepts it"
	omHelpEscape      = "found here: an unknown escape in an OpenMetrics HELP is refused; Prometheus keeps it as written"
	omBareLabel       = "found here: OpenMetrics {A}0 (a quoted-name form without quotes) is accepted; Prometheus refuses it"
	omInterleaved     = "found here: an OpenMetrics family whose samples or metadata are not in one block is refused; Prometheus accepts it (the OpenMetrics spec does not)"
	nativeSpans       = "found here: a native histogram whose spans and buckets disagree is accepted; Prometheus refuses it"
	protoExemplarsB   = "found here: in a protobuf merge of two sources the second source's histogram exemplars are lost"
	protoInfBucket    = "found here: a text histogram without a +Inf bucket gains one in protobuf output"
	omNameCollision   = "found here: a counter foo_total and a gauge foo cannot both be written in OpenMetrics; the later family is left out"
)

// knownDisagreements lists every disagreement with Prometheus the vectors
// show today, keyed "<vector>/<property>" (verdict, or the output format
// of a merge), with its cause. TestVectors fails on a disagreement missing
// here and on an entry that no longer occurs, so the list only shrinks as
// fixes land.
func knownDisagreements() map[string]string {
	return map[string]string{
		"corral-negative-timestamp.prom/verdict":                 negativeTimestamp,
		"corral-unit-not-suffix.om/verdict":                      unitNotSuffix,
		"corral-histogram-plain-sample.prom/verdict":             plainUnderType,
		"corral-summary-plain-sample.prom/verdict":               plainUnderType,
		"corral-bucket-without-le.prom/verdict":                  bucketWithoutLe,
		"corral-empty-help-twice.prom/verdict":                   emptyHelpTwice,
		"corral-label-collision-escaped.prom/text":               escapedCollision,
		"corral-label-collision-escaped.prom/om":                 escapedCollision,
		"corral-name-collision-escaped.prom/text":                escapedCollision,
		"corral-name-collision-escaped.prom/om":                  escapedCollision,
		"corral-histogram-fractional-counts.prom/om":             omFloatHistogram,
		"corral-histogram-fractional-counts.prom/om-utf8":        omFloatHistogram,
		"expfmt-textparse-013.prom/om":                           omFloatHistogram,
		"expfmt-textparse-013.prom/om-utf8":                      omFloatHistogram,
		"expfmt-textparse-014.prom/om":                           omFloatHistogram,
		"expfmt-textparse-014.prom/om-utf8":                      omFloatHistogram,
		"expfmt-textparse-015.prom/om":                           omFloatHistogram,
		"expfmt-textparse-015.prom/om-utf8":                      omFloatHistogram,
		"textparse-protobufparse-001.pb/om":                      omFloatHistogram,
		"textparse-protobufparse-001.pb/om-utf8":                 omFloatHistogram,
		"corral-exemplar-on-gauge.om/om":                         omLost,
		"corral-exemplar-on-gauge.om/om-utf8":                    omLost,
		"corral-exemplar-on-gauge.om/proto":                      omLost,
		"corral-om-exemplar-created-gaugehistogram.om/om":        omLost,
		"corral-om-exemplar-created-gaugehistogram.om/om-utf8":   omLost,
		"corral-om-exemplar-created-gaugehistogram.om/proto":     omLost,
		"corral-om-exemplar-created-gaugehistogram.om/text":      omLost,
		"corral-om-exemplar-created-gaugehistogram.om/text-utf8": omLost,
		"textparse-omparse-085.om/om":                            omLost,
		"textparse-omparse-085.om/om-utf8":                       omLost,
		"textparse-omparse-085.om/proto":                         omLost,
		"textparse-omparse-085.om/text":                          omLost,
		"textparse-omparse-085.om/text-utf8":                     omLost,
		"textparse-testdata-alltypes.5mfs.om/om":                 omLost,
		"textparse-testdata-alltypes.5mfs.om/om-utf8":            omLost,
		"textparse-testdata-alltypes.5mfs.om/proto":              omLost,
		"corral-dedup-spelling.prom/text":                        spelledLabels,
		"corral-dedup-spelling.prom/text-utf8":                   spelledLabels,
		"expfmt-textparse-011.prom/verdict":                      nameInBraces,
		"textparse-omparse-002.om/verdict":                       nameInBraces,
		"textparse-omparse-001.om/verdict":                       omHelpEscape,
		"textparse-omparse-051.om/verdict":                       omBareLabel,
		"textparse-omparse-086.om/verdict":                       omInterleaved,
		"textparse-testdata-prometheus.om/verdict":               omInterleaved,
		"textparse-protobufparse-004.pb/verdict":                 nativeSpans,
		"textparse-protobufparse-005.pb/verdict":                 nativeSpans,
		"textparse-protobufparse-001.pb/proto":                   protoExemplarsB,
		"expfmt-textparse-014.prom/proto":                        protoInfBucket,
		"textparse-testdata-alltypes.237mfs.prom/om":             omNameCollision,
		"textparse-testdata-alltypes.237mfs.prom/om-utf8":        omNameCollision,
	}
}
