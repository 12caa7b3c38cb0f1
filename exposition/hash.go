package exposition

import (
	"encoding/binary"
	"math/bits"
)

// seriesHash hashes a sample's series as Prometheus sees it: the same for
// the same name and label set however they are spelled (bare or quoted
// names, escapes in names, blanks around '=') and in any order. It is the
// name's hash plus each label's, a label hashed in its canonical form
// name="value": the name unescaped, the value as written (a value has
// only one escaped spelling), as the fast path finds it in the body, but
// an le or quantile Prometheus reads in canonical form in that form.
func (s *scanner) seriesHash(name []byte) uint64 {
	h := hashBytes(s.seed, name)
	for _, l := range s.labels {
		if s.mtype == Histogram || s.mtype == Summary {
			if s.canonical(l.name) {
				h += s.canonHash(l.name, s.body[l.value.lo:l.value.hi])
				continue
			}
		}
		if l.raw {
			h += hashBytes(s.seed, s.body[l.value.lo-int32(len(l.name))-2:l.value.hi+1])
			continue
		}
		s.canon = append(append(s.canon[:0], l.name...), '=', '"')
		s.canon = append(append(s.canon, s.body[l.value.lo:l.value.hi]...), '"')
		h += hashBytes(s.seed, s.canon)
	}
	return h
}

// hashBytes is a fast 64-bit hash of b for the merge's deduplication, which
// verifies every match: a collision costs a comparison, never a series.
// Short inputs (most labels) take one multiplication.
func hashBytes(seed uint64, b []byte) uint64 {
	const p0, p1, p2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	n := len(b)
	h := seed ^ uint64(n)*p0
	var x, y uint64
	switch {
	case n >= 16:
		for i := 0; i+16 < n; i += 16 {
			h = mix(binary.LittleEndian.Uint64(b[i:])^p1, binary.LittleEndian.Uint64(b[i+8:])^h)
		}
		// The last 16 bytes, overlapping what was mixed.
		x, y = binary.LittleEndian.Uint64(b[n-16:]), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:])
	case n >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[n-4:]))
	case n > 0:
		x, y = uint64(b[0])<<16|uint64(b[n>>1])<<8|uint64(b[n-1]), 0
	}
	return mix(x^p1, y^h^p2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
