package exposition

import (
	"bytes"
	"math"
	"strconv"
	"unsafe"
)

// validFloat accepts what Prometheus' parsers accept as a sample value.
func validFloat(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if ok, sure := simpleFloat(b); sure {
		return ok
	}
	if bytes.ContainsAny(b, "pP_") {
		return false
	}
	_, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	return err == nil
}

// simpleFloat checks the common value forms without strconv: an optional
// sign, digits with at most one '.', and an optional exponent of at most two
// digits ("1027", "-0.25", "1.5e-07"). Within those bounds no value
// overflows, so such a form is valid. sure is false for anything else
// (Inf, NaN, hex, long exponents...), which ParseFloat must judge.
func simpleFloat(b []byte) (ok, sure bool) {
	n := plainEnd(b)
	plain := n > 0 && n == len(b)
	return plain, plain
}

// plainEnd is where the plain decimal that b starts with ends (the form
// simpleFloat is sure of), or 0 when b does not start with one: no digits,
// more than 200, or an exponent without one or two digits.
func plainEnd(b []byte) int {
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	digits, dot := 0, false
	for ; i < len(b); i++ {
		if c := b[i]; c >= '0' && c <= '9' {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
	}
	if digits == 0 || digits > 200 {
		return 0
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			i++
		}
		e := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if n := i - e; n < 1 || n > 2 {
			return 0
		}
	}
	return i
}

// validTimestamp accepts what Prometheus' text parser accepts as a
// timestamp: decimal digits only (no sign: a negative timestamp is
// refused), within int64.
func validTimestamp(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	if len(b) < 19 {
		return true
	}
	_, err := strconv.ParseInt(unsafe.String(&b[0], len(b)), 10, 64)
	return err == nil
}

// appendCanonicalValue appends label value v (raw, as written) as
// Prometheus reads an le or quantile in canonical form: a number as
// labels.FormatOpenMetricsFloat writes it ("1" as "1.0", "0.25" as it is),
// anything else as it is. The plain decimals buckets and quantiles are
// written with take no strconv.
func appendCanonicalValue(dst, v []byte) []byte {
	if c, ok := quickCanonical(dst, v); ok {
		return c
	}
	if c, ok := appendCanonicalFloat(dst, v); ok {
		return c
	}
	return append(dst, v...)
}

// quickCanonical appends the canonical form of v when v is "+Inf" or a
// plain decimal whose canonical form is v itself or v with ".0" added: an
// optional minus, an integer part of at most six digits without a leading
// zero (or one zero, with a fraction), a fraction not ending in 0 with no
// more than three zeros after "0.", fifteen significant digits at most
// (each such decimal is its float's shortest form, which strconv's 'g'
// writes without an exponent). Anything else reports false.
func quickCanonical(dst, v []byte) ([]byte, bool) {
	if string(v) == "+Inf" {
		return append(dst, v...), true
	}
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	d := i
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	intLen := i - d
	if intLen == 0 || intLen > 6 || intLen > 1 && v[d] == '0' {
		return dst, false
	}
	if i == len(v) { // an integer
		if v[d] == '0' {
			return dst, false // 0 and -0 are "0.0"
		}
		return append(append(dst, v...), '.', '0'), true
	}
	if v[i] != '.' {
		return dst, false
	}
	i++
	f := i
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i != len(v) || i == f || v[i-1] == '0' {
		return dst, false
	}
	sig := intLen + i - f
	if v[d] == '0' {
		z := f
		for z < i && v[z] == '0' {
			z++
		}
		if z-f > 3 {
			return dst, false // below 1e-4: written with an exponent
		}
		sig = i - z
	}
	if sig > 15 {
		return dst, false
	}
	return append(dst, v...), true
}

// appendCanonicalFloat appends label value v (raw, as written) as
// Prometheus reads it in canonical form, and reports false, appending
// nothing, when v is not a number (which Prometheus keeps as it is).
func appendCanonicalFloat(dst, v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return dst, false
	}
	f, err := strconv.ParseFloat(unsafe.String(&v[0], len(v)), 64)
	if err != nil {
		return dst, false
	}
	switch {
	case f == 0: // -0 too
		return append(dst, "0.0"...), true
	case math.IsNaN(f):
		return append(dst, "NaN"...), true
	case math.IsInf(f, 1):
		return append(dst, "+Inf"...), true
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...), true
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if !bytes.ContainsAny(dst[start:], "e.") {
		dst = append(dst, '.', '0')
	}
	return dst, true
}
