package exposition

import (
	"encoding/binary"
	"math/bits"
)

// maxFastLabels bounds the labels the fast path checks for duplicates by
// itself; a sample with more takes the general path.
const maxFastLabels = 16

// fastSample scans the overwhelmingly common text sample line
// `name{l="v",...} value` at b[i:end]: bare names, labels without escapes,
// one space before a plain decimal value, no timestamp. It records the
// sample exactly as sampleLine would and reports true, or reports false
// having recorded nothing, for sampleLine to judge the line (families it
// resolved on the way are the ones sampleLine resolves again). It accepts
// only lines sampleLine accepts, with the same result.
func (s *scanner) fastSample(i, end int) bool {
	b := s.body[:end]
	if i >= len(b) || nameChars[b[i]]&(nameFirst|nameColon) == 0 {
		return false
	}
	// Most lines name the family of the line before: compare with its
	// name (valid, and bare) rather than classify every byte again.
	j := i + 1
	same := false
	if s.cur >= 0 {
		if f := &s.fams[s.cur]; f.bare {
			if j = i + len(f.name); j < len(b) && (b[j] == '{' || b[j] == ' ') && string(b[i:j]) == string(f.name) {
				same = true
			} else {
				j = i + 1
			}
		}
	}
	if !same {
		for j < len(b) && nameChars[b[j]]&(nameRest|nameColon) != 0 {
			j++
		}
		if j >= len(b) {
			return false
		}
	}
	var smp sample
	smp.name = span{int32(i), int32(j)}
	var le, quantile span
	var lnames [maxFastLabels]span
	nl := 0
	sorted := true
	var h uint64 // the labels' part of seriesHash
	k := j
	switch b[k] {
	case ' ':
	case '{':
		k++
		first := k
		for {
			// Label name.
			if k >= len(b) || nameChars[b[k]]&nameFirst == 0 {
				return false
			}
			ls := k
			k++
			for k < len(b) && nameChars[b[k]]&nameRest != 0 {
				k++
			}
			le0 := k
			if k+1 >= len(b) || b[k] != '=' || b[k+1] != '"' {
				return false
			}
			k += 2
			vs := k
			// Value: no escapes on the fast path. Eight bytes at a time:
			// the lowest bit of the mask marks the first quote or
			// backslash exactly.
			for ; k+8 <= len(b); k += 8 {
				if m := hasByte(binary.LittleEndian.Uint64(b[k:]), '"') | hasByte(binary.LittleEndian.Uint64(b[k:]), '\\'); m != 0 {
					k += bits.TrailingZeros64(m) >> 3
					break
				}
			}
			for k < len(b) && b[k] != '"' {
				if b[k] == '\\' {
					return false
				}
				k++
			}
			if k >= len(b) {
				return false
			}
			ve := k
			k++ // the closing quote
			ln := b[ls:le0]
			canonical := false
			switch len(ln) {
			case 2:
				if ln[0] == 'l' && ln[1] == 'e' {
					le = span{int32(vs), int32(ve)}
					canonical = s.mtype == Histogram
				}
			case 8:
				if string(ln) == "quantile" {
					quantile = span{int32(vs), int32(ve)}
					canonical = s.mtype == Summary
				} else if string(ln) == "__name__" {
					return false
				}
			}
			if s.hashing {
				if canonical {
					h += s.canonHash(ln, b[vs:ve])
				} else {
					h += hashBytes(s.seed, b[ls:k])
				}
			}
			if nl == maxFastLabels {
				return false
			}
			if nl > 0 && sorted {
				p := b[lnames[nl-1].lo:lnames[nl-1].hi]
				if p[0] > ln[0] || p[0] == ln[0] && string(p) >= string(ln) {
					sorted = false
				}
			}
			if !sorted {
				for _, p := range lnames[:nl] {
					if string(b[p.lo:p.hi]) == string(ln) {
						return false // duplicate: sampleLine says so
					}
				}
			}
			lnames[nl] = span{int32(ls), int32(le0)}
			nl++
			for _, r := range s.reserved {
				if string(r) == string(ln) {
					smp.flags |= flagReserved
				}
			}
			if k+1 >= len(b) {
				return false
			}
			if b[k] == ',' {
				k++
				continue
			}
			if b[k] != '}' || b[k+1] != ' ' {
				return false
			}
			smp.labels = span{int32(first), int32(k)}
			k++
			break
		}
	default:
		return false
	}
	// b[k] is the space before the value, which runs to the end.
	vs := k + 1
	if vs >= len(b) {
		return false
	}
	// A plain decimal value to the end of the line: no timestamp, no
	// blanks (simpleFloat is sure of nothing else).
	v := b[vs:]
	if ok, sure := simpleFloat(v); !ok || !sure {
		return false
	}
	smp.value = span{int32(vs), int32(end)}

	name := b[i:j]
	fi, member := s.cur, memberExact
	if !same {
		var err error
		if fi, member, err = s.family(name); err != nil {
			return false
		}
	}
	f := &s.fams[fi]
	typ := f.typ
	// le and quantile as checkBounds has them (no span starts at 0: a
	// label value never starts a line).
	if typ == Histogram || typ == GaugeHistogram {
		if member == memberExact || (member == memberBucket) != (le.lo != 0) || le.lo != 0 && !validFloat(b[le.lo:le.hi]) {
			return false // a bucket without le, or a count or sum with one, is flagShape
		}
		if (member == memberBucket || member == memberCount) && v[0] == '-' {
			return false
		}
	}
	if typ == Summary && ((member == memberExact) != (quantile.lo != 0) || quantile.lo != 0 && !validFloat(b[quantile.lo:quantile.hi])) {
		return false
	}
	switch {
	case s.mtype == Histogram && le.lo > 0:
		smp.flags |= flagCanonLe
	case s.mtype == Summary && quantile.lo > 0:
		smp.flags |= flagCanonQuantile
	}
	smp.fam = fi
	smp.member = uint8(member)
	if s.hashing {
		if same {
			smp.hash = f.hash + h
		} else {
			smp.hash = hashBytes(s.seed, name) + h
		}
	}
	s.add(f, fi, smp)
	return true
}
