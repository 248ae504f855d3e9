package email

import (
	"bytes"
	"encoding/base64"
	"math/bits"
	"strings"
)

// A part's body is given as pieces written in order (the HTML with the
// preheader spliced in), so that it is never concatenated into a new
// string: the encoders read the pieces and write straight into the
// message buffer.

// pickEncoding chooses base64 for mostly non-ASCII text (Thai is 3 bytes a
// character, 9 in quoted-printable) and quoted-printable otherwise.
func pickEncoding(pieces ...string) string {
	non, n := 0, 0
	for _, s := range pieces {
		n += len(s)
		non += countNonASCII(s)
	}
	if non*3 > n {
		return "base64"
	}
	return "quoted-printable"
}

// countNonASCII counts the bytes of s from 0x80 up, eight at a time.
func countNonASCII(s string) int {
	non, i := 0, 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		non += bits.OnesCount64(w & 0x8080808080808080)
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			non++
		}
	}
	return non
}

// encodeBody writes the pieces' concatenation in enc with CRLF line
// endings, ending with a line break.
func encodeBody(b *bytes.Buffer, enc string, pieces ...string) {
	// Lines end in "\n" or "\r\n" alike: normalised to "\n" first (only a
	// body with a CR can need it).
	for _, p := range pieces {
		if strings.IndexByte(p, '\r') >= 0 {
			pieces = []string{strings.ReplaceAll(strings.Join(pieces, ""), "\r\n", "\n")}
			break
		}
	}
	if enc == "base64" {
		writeBase64Lines(b, pieces)
		return
	}
	var qw qpWriter
	last := ""
	for _, p := range pieces {
		qw.write(b, p)
		if p != "" {
			last = p
		}
	}
	qw.close(b)
	if !strings.HasSuffix(last, "\n") {
		b.WriteString("\r\n")
	}
}

// base64Chunk is the input that encodes to one full 76-character line.
const base64Chunk = 57

// writeBase64Lines writes the pieces, each "\n" as "\r\n", in base64 lines
// of 76 characters. 57 input bytes (a multiple of 3) encode to exactly one
// line, so encoding chunk by chunk equals encoding the whole and folding it.
func writeBase64Lines(b *bytes.Buffer, pieces []string) {
	var chunk [base64Chunk]byte
	n, empty := 0, true
	for _, p := range pieces {
		for p != "" {
			empty = false
			// Up to the next "\n", which becomes "\r\n".
			run := p
			nl := strings.IndexByte(p, '\n')
			if nl >= 0 {
				run = p[:nl]
			}
			p = p[len(run):]
			for {
				c := copy(chunk[n:], run)
				n += c
				run = run[c:]
				if n == base64Chunk {
					writeBase64Line(b, chunk[:])
					n = 0
				}
				if run != "" {
					continue
				}
				if nl < 0 {
					break
				}
				run, nl, p = "\r\n", -1, p[1:]
			}
		}
	}
	if n > 0 || empty {
		writeBase64Line(b, chunk[:n])
	}
}

func writeBase64Line(b *bytes.Buffer, src []byte) {
	line := base64.StdEncoding.AppendEncode(b.AvailableBuffer(), src)
	b.Write(append(line, '\r', '\n'))
}

// qpLineMax is the longest quoted-printable line, soft break included.
const qpLineMax = 76

// qpWriter is mime/quotedprintable's Writer (text mode) writing strings
// straight into the message buffer: the same output byte for byte, without
// its allocation, the []byte copy of each string, or error paths a buffer
// never takes.
type qpWriter struct {
	line [qpLineMax + 2]byte
	i    int
	cr   bool
}

func (w *qpWriter) write(b *bytes.Buffer, p string) {
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= '!' && c <= '~' && c != '=':
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		if i > n {
			w.writeRaw(b, p[n:i])
		}
		w.encode(b, c)
		n = i + 1
	}
	if n < len(p) {
		w.writeRaw(b, p[n:])
	}
}

// writeRaw writes bytes that need no encoding: line breaks, and runs of
// other bytes copied as far as the line allows.
func (w *qpWriter) writeRaw(b *bytes.Buffer, p string) {
	for p != "" {
		if c := p[0]; c == '\n' || c == '\r' {
			p = p[1:]
			// After a "\r" the line break is already written.
			if w.cr && c == '\n' {
				w.cr = false
				continue
			}
			w.cr = c == '\r'
			w.checkLastByte(b)
			w.insertCRLF(b)
			continue
		}
		if w.i == qpLineMax-1 {
			w.insertSoftLineBreak(b)
		}
		k, room := 0, min(qpLineMax-1-w.i, len(p))
		for k < room && p[k] != '\n' && p[k] != '\r' {
			k++
		}
		w.i += copy(w.line[w.i:], p[:k])
		w.cr = false
		p = p[k:]
	}
}

const upperhex = "0123456789ABCDEF"

func (w *qpWriter) encode(b *bytes.Buffer, c byte) {
	if qpLineMax-1-w.i < 3 {
		w.insertSoftLineBreak(b)
	}
	w.line[w.i] = '='
	w.line[w.i+1] = upperhex[c>>4]
	w.line[w.i+2] = upperhex[c&0x0f]
	w.i += 3
}

// checkLastByte encodes a trailing space or tab (RFC 2045 §6.7 rule 3).
func (w *qpWriter) checkLastByte(b *bytes.Buffer) {
	if w.i == 0 {
		return
	}
	if c := w.line[w.i-1]; c == ' ' || c == '\t' {
		w.i--
		w.encode(b, c)
	}
}

func (w *qpWriter) insertSoftLineBreak(b *bytes.Buffer) {
	w.line[w.i] = '='
	w.i++
	w.insertCRLF(b)
}

func (w *qpWriter) insertCRLF(b *bytes.Buffer) {
	w.line[w.i] = '\r'
	w.line[w.i+1] = '\n'
	w.i += 2
	w.flush(b)
}

func (w *qpWriter) flush(b *bytes.Buffer) {
	b.Write(w.line[:w.i])
	w.i = 0
}

func (w *qpWriter) close(b *bytes.Buffer) {
	w.checkLastByte(b)
	w.flush(b)
}
