package sample

import (
	"os"
	"strconv"
)

// output is one data file being written. Rows accumulate in buf; full
// chunks go to a background writer, so generation and file I/O overlap while
// the bytes of each file stay in order.
type output struct {
	name, kind string
	f          *os.File
	buf        []byte
	rows       int
	w          *writer
}

const chunkSize = 1 << 20

// row writes one data line (b must end in '\n') and counts it.
func (o *output) row(b []byte) {
	o.raw(b)
	o.rows++
}

// raw writes bytes that are not a data row (the CSV header).
func (o *output) raw(b []byte) {
	o.buf = append(o.buf, b...)
	if len(o.buf) >= chunkSize {
		o.w.submit(o.f, o.buf)
		o.buf = o.w.fresh()
	}
}

// flush hands the remaining bytes to the writer.
func (o *output) flush() {
	if len(o.buf) > 0 {
		o.w.submit(o.f, o.buf)
		o.buf = nil
	}
}

type chunk struct {
	f *os.File
	b []byte
}

// writer is one goroutine writing chunks in submission order.
type writer struct {
	ch   chan chunk
	free chan []byte
	done chan struct{}
	err  error // owned by the goroutine until done is closed
}

func newWriter() *writer {
	w := &writer{ch: make(chan chunk, 8), free: make(chan []byte, 16), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for c := range w.ch {
			if w.err == nil {
				_, w.err = c.f.Write(c.b)
			}
			select {
			case w.free <- c.b[:0]:
			default:
			}
		}
	}()
	return w
}

func (w *writer) submit(f *os.File, b []byte) { w.ch <- chunk{f, b} }

func (w *writer) fresh() []byte {
	select {
	case b := <-w.free:
		return b
	default:
		return make([]byte, 0, chunkSize+64<<10)
	}
}

// close waits for every submitted chunk and returns the first write error.
func (w *writer) close() error {
	close(w.ch)
	<-w.done
	return w.err
}

// mix64 is the SplitMix64 finaliser, a bijection on uint64: distinct inputs
// give distinct outputs, which makes identifiers derived from counters unique.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

const hexDigits = "0123456789abcdef"

func appendHex64(b []byte, v uint64) []byte {
	for s := 60; s >= 0; s -= 4 {
		b = append(b, hexDigits[(v>>uint(s))&15])
	}
	return b
}

// appendUUIDish writes 128 bits as 8-4-4-4-12 hex groups; the first 64 bits
// (hi) carry the uniqueness.
func appendUUIDish(b []byte, hi, lo uint64) []byte {
	var raw [32]byte
	h := appendHex64(raw[:0], hi)
	h = appendHex64(h, lo)
	b = append(b, h[0:8]...)
	b = append(b, '-')
	b = append(b, h[8:12]...)
	b = append(b, '-')
	b = append(b, h[12:16]...)
	b = append(b, '-')
	b = append(b, h[16:20]...)
	b = append(b, '-')
	return append(b, h[20:32]...)
}

func appendPadded(b []byte, n, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// appendCSV appends one CSV field, quoting it when it holds a comma, a quote,
// a line break or surrounding white space. An empty value stays an empty
// (unquoted) field, which importers read as missing.
func appendCSV[T ~string | ~[]byte](b []byte, s T) []byte {
	if len(s) == 0 {
		return b
	}
	quote := s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t'
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case ',', '"', '\r', '\n':
			quote = true
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendJSONString appends s as a JSON string. UTF-8 passes through as is.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		if c < 0x20 {
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		} else {
			b = append(b, '\\', c)
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendKey appends `"key":` preceded by a comma unless it opens the object.
func appendKey(b []byte, key string) []byte {
	if n := len(b); n > 0 && b[n-1] != '{' && b[n-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStrField(b []byte, key, v string) []byte {
	return appendJSONString(appendKey(b, key), v)
}

func appendIntField(b []byte, key string, v int) []byte {
	return strconv.AppendInt(appendKey(b, key), int64(v), 10)
}

// appendNumField writes v, already rounded to cents, in its shortest form
// (1290.5, 89, 50.9).
func appendNumField(b []byte, key string, v float64) []byte {
	return strconv.AppendFloat(appendKey(b, key), v, 'f', -1, 64)
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's days_from_civil inverse).
func civil(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func append2(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendClock writes YYYY-MM-DDThh:mm:ss for sec seconds since the epoch
// (wall clock of whatever zone sec is already shifted to).
func appendClock(b []byte, sec int64) []byte {
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	y, m, d := civil(days)
	b = append2(append2(b, y/100), y%100)
	b = append2(append(b, '-'), m)
	b = append2(append(b, '-'), d)
	b = append2(append(b, 'T'), rem/3600)
	b = append2(append(b, ':'), rem/60%60)
	return append2(append(b, ':'), rem%60)
}

// appendTime writes an RFC 3339 instant in UTC with whole seconds.
func appendTime(b []byte, sec int64) []byte {
	return append(appendClock(b, sec), 'Z')
}

// appendTimeMilli writes an RFC 3339 instant in UTC with milliseconds.
func appendTimeMilli(b []byte, ms int64) []byte {
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec, frac = sec-1, frac+1000
	}
	b = append(appendClock(b, sec), '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return append(b, 'Z')
}

// appendTimeIn writes an RFC 3339 instant with a whole-hour UTC offset.
func appendTimeIn(b []byte, sec int64, offsetHours int) []byte {
	b = appendClock(b, sec+int64(offsetHours)*3600)
	sign := byte('+')
	if offsetHours < 0 {
		sign, offsetHours = '-', -offsetHours
	}
	return append(append2(append(b, sign), int64(offsetHours)), ':', '0', '0')
}
