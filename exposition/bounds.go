package exposition

// The le and quantile labels: checked as expfmt reads them, and read in the
// canonical form Prometheus gives them after a histogram's or summary's TYPE.

// checkBounds checks the le label of a histogram's samples and the
// quantile label of a summary's: a number where there is one (expfmt reads
// it on every sample of the family). Prometheus' parsers take a bucket
// without le, a summary sample without quantile, and a count or sum with
// one, as a plain series (the decoded formats' histograms and summaries
// have no place for them: expfmt puts such a sum in the histogram of the
// other labels): the sample is only marked, for the merge to leave it out
// of the formats that cannot carry it.
func (s *scanner) checkBounds(smp *sample, f *family, member int) error {
	b := s.body
	switch f.typ {
	case Histogram, GaugeHistogram:
		le, ok := s.find("le")
		if !ok {
			if member == memberBucket {
				smp.flags |= flagShape
			}
			return nil
		}
		if !validFloat(b[le.lo:le.hi]) {
			return s.boundError("invalid le label value %q", b[le.lo:le.hi])
		}
		if member == memberSum || member == memberCount || member == memberGSum || member == memberGCount {
			smp.flags |= flagShape // a series of its own to Prometheus, not the histogram's
		}
	case Summary:
		q, ok := s.find("quantile")
		if !ok {
			if member == memberExact {
				smp.flags |= flagShape
			}
			return nil
		}
		if !validFloat(b[q.lo:q.hi]) {
			return s.boundError("invalid quantile label value %q", b[q.lo:q.hi])
		}
		if member == memberSum || member == memberCount {
			smp.flags |= flagShape
		}
	}
	return nil
}

// boundError refuses an le or quantile value that is not a number: in
// OpenMetrics under the README's stricter rule (Prometheus keeps it as a
// label), in text as expfmt refuses it.
func (s *scanner) boundError(format string, v []byte) error {
	if s.om {
		return s.stricterf(StricterBound, format, v)
	}
	return s.errorf(format, v)
}

// canonFlags flags the labels of the current sample that Prometheus reads
// in canonical form ("1" as "1.0"): its le when it follows a histogram's
// TYPE line, its quantile when it follows a summary's, whatever its name.
// Its series is deduplicated so, and a sample of a family of another type
// is written so.
func (s *scanner) canonFlags() uint16 {
	switch s.mtype {
	case Histogram:
		if _, ok := s.find("le"); ok {
			return flagCanonLe
		}
	case Summary:
		if _, ok := s.find("quantile"); ok {
			return flagCanonQuantile
		}
	}
	return 0
}

// canonical tells whether Prometheus reads label ln of the current sample
// in canonical form (canonFlags).
func (s *scanner) canonical(ln []byte) bool {
	return s.mtype == Histogram && string(ln) == "le" || s.mtype == Summary && string(ln) == "quantile"
}

// canonHash is the hash of label ln="v" as Prometheus reads it in
// canonical form.
func (s *scanner) canonHash(ln, v []byte) uint64 {
	s.canon = append(append(s.canon[:0], ln...), '=', '"')
	s.canon = append(appendCanonicalValue(s.canon, v), '"')
	return hashBytes(s.seed, s.canon)
}
