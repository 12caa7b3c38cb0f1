package exposition

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// undecodable tells why part p of a text histogram or summary cannot be
// written in OpenMetrics or protobuf, which give each series of one its
// +Inf bucket (a histogram's), _count and _sum, and one timestamp: a
// series without one of them, or whose samples have different timestamps
// (or some none). The reason has a %s for the format. A series is the
// samples' labels other than le and quantile; samples the plan left out
// (duplicates, a bucket without le) do not count.
func (m *merger) undecodable(p part) string {
	s := p.src
	f := &s.sc.fams[p.fam]
	if (f.typ != Histogram && f.typ != Summary && f.typ != GaugeHistogram) || f.n == 0 {
		return ""
	}
	count, sum := "_count", "_sum"
	if f.typ == GaugeHistogram {
		count, sum = "_gcount", "_gsum"
	}
	type parts struct {
		inf, count, sum bool
		ts              string
	}
	body := s.sc.body
	seen := map[string]*parts{}
	var order []string
	for k := f.first; k <= f.last; k++ {
		smp := &s.sc.samples[k]
		if smp.fam != p.fam || smp.flags&(flagDrop|flagShape|flagCreated) != 0 {
			continue
		}
		var pairs []string
		le := ""
		m.pairs, _ = m.outLabels(m.pairs[:0], s, smp) // as the builder groups them: by the names written
		for _, l := range m.pairs {
			// le is a histogram's bound, quantile a summary's; of the
			// other type, an ordinary label.
			switch n := string(l.out); {
			case n == "le" && f.typ != Summary:
				le = string(body[l.value.lo:l.value.hi])
			case n == "quantile" && f.typ == Summary:
			default:
				pairs = append(pairs, n+"="+string(body[l.value.lo:l.value.hi]))
			}
		}
		slices.Sort(pairs)
		key := strings.Join(pairs, ",")
		ts := string(body[smp.ts.lo:smp.ts.hi])
		sp, ok := seen[key]
		if !ok {
			sp = &parts{ts: ts}
			seen[key], order = sp, append(order, key)
		} else if sp.ts != ts {
			return "the samples of a series have different timestamps, which %s cannot carry"
		}
		switch smp.member {
		case memberCount, memberGCount:
			sp.count = true
		case memberSum, memberGSum:
			sp.sum = true
		case memberBucket:
			v, err := strconv.ParseFloat(le, 64)
			sp.inf = sp.inf || err == nil && math.IsInf(v, 1)
		}
	}
	for _, key := range order {
		switch sp := seen[key]; {
		case f.typ != Summary && !sp.inf:
			return "a series has no +Inf bucket, which %s cannot leave out"
		case !sp.count:
			return "a series has no " + count + ", which %s cannot leave out"
		case !sp.sum:
			return "a series has no " + sum + ", which %s cannot leave out"
		}
	}
	return ""
}
