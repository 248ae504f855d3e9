package engine

import (
	"io"
	"os"
)

// ImportProgress is how far one import has got, for a progress display.
type ImportProgress struct {
	// Phase is PhaseRead while the file is read, then PhaseWrite while
	// identities are resolved and the rows written.
	Phase string
	// Done and Total are bytes of the file in PhaseRead; 0 in PhaseWrite.
	Done, Total int64
}

// Import phases.
const (
	PhaseRead  = "read"
	PhaseWrite = "write"
)

// ImportOption adjusts one Import.
type ImportOption func(*importOptions)

type importOptions struct {
	progress func(ImportProgress)
}

// WithProgress has Import report its progress to fn, on the importing
// goroutine. The engine never prints: the caller decides how to show it.
func WithProgress(fn func(ImportProgress)) ImportOption {
	return func(o *importOptions) { o.progress = fn }
}

// report calls the progress function if there is one.
func (o importOptions) report(p ImportProgress) {
	if o.progress != nil {
		o.progress(p)
	}
}

// progressStep is how many bytes are read between reports.
const progressStep = 1 << 20

// readWithProgress wraps the open file f for progress reports.
func readWithProgress(f *os.File, opts importOptions) io.Reader {
	if opts.progress == nil {
		return f
	}
	var total int64
	if st, err := f.Stat(); err == nil {
		total = st.Size()
	}
	return &progressReader{r: f, opts: opts, total: total}
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r           io.Reader
	opts        importOptions
	done, total int64
	next        int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.done >= p.next || err != nil {
		p.next = p.done + progressStep
		p.opts.report(ImportProgress{Phase: PhaseRead, Done: p.done, Total: p.total})
		if err == io.EOF { //nolint:errorlint // io.Reader returns io.EOF itself, unwrapped
			p.opts.report(ImportProgress{Phase: PhaseWrite})
		}
	}
	return n, err
}
