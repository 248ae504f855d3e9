package engine

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// jsonlBlockLines is how many lines a JSON Lines block holds: enough that
// handing a block to a worker costs little beside splitting it, few enough
// that the blocks in flight stay small (a few hundred kilobytes each).
const jsonlBlockLines = 512

// jsonlBlock is a run of consecutive non-blank lines of a file, copied out
// of the scanner, split by a worker.
type jsonlBlock struct {
	text  []byte      // the lines, trimmed, back to back
	lines []jsonlLine // one per line, in file order
	pairs []jsonlPair // every line's keys and values, back to back
	done  chan struct{}

	// readErr ends the file: reading it failed at line readErrLine.
	readErr     error
	readErrLine int
}

// jsonlLine is one line of a block: its number, and what splitting it
// gave (its pairs are the block's pairs[lo:hi]).
type jsonlLine struct {
	no         int
	start, end int // the line in the block's text
	lo, hi     int
	null       bool
	err        error
}

// jsonlBlocks reads a file into blocks on one goroutine and has workers
// split them, each block handed out to a worker and, in file order, to the
// reader; a block is read once its worker is done. About 2 × workers
// blocks are in flight at most, so memory does not grow with the file.
type jsonlBlocks struct {
	order chan *jsonlBlock
	quit  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	f     io.Closer
}

func startJSONLBlocks(f io.Closer, sc *bufio.Scanner, blockLines, workers int) *jsonlBlocks {
	blockLines, workers = max(blockLines, 1), max(workers, 1)
	bs := &jsonlBlocks{order: make(chan *jsonlBlock, 2*workers), quit: make(chan struct{}), f: f}
	work := make(chan *jsonlBlock, 2*workers)
	for range workers {
		bs.wg.Add(1)
		go func() {
			defer bs.wg.Done()
			sp := newJSONLSplitter()
			for b := range work {
				b.split(sp)
			}
		}()
	}
	bs.wg.Add(1)
	go func() {
		defer bs.wg.Done()
		defer close(work)
		defer close(bs.order)
		bs.read(sc, blockLines, work)
	}()
	return bs
}

// read cuts the scanner's lines into blocks and hands each to a worker
// and to the reader, until the input ends or the reader is closed.
func (bs *jsonlBlocks) read(sc *bufio.Scanner, blockLines int, work chan<- *jsonlBlock) {
	line := 0
	for {
		b := &jsonlBlock{lines: make([]jsonlLine, 0, blockLines), done: make(chan struct{})}
		for len(b.lines) < blockLines && sc.Scan() {
			line++
			t := bytes.TrimSpace(sc.Bytes())
			if len(t) == 0 {
				continue
			}
			b.lines = append(b.lines, jsonlLine{no: line, start: len(b.text), end: len(b.text) + len(t)})
			b.text = append(b.text, t...)
		}
		if len(b.lines) > 0 && !bs.hand(work, b) {
			return
		}
		if len(b.lines) < blockLines {
			// The input ended: cleanly, or with an error the reader
			// reports after the lines before it.
			if err := sc.Err(); err != nil {
				e := &jsonlBlock{readErr: err, readErrLine: line + 1, done: make(chan struct{})}
				close(e.done)
				bs.hand(nil, e)
			}
			return
		}
	}
}

// hand gives b to a worker (when work is not nil) and to the reader;
// false when the reader was closed first.
func (bs *jsonlBlocks) hand(work chan<- *jsonlBlock, b *jsonlBlock) bool {
	if work != nil {
		select {
		case work <- b:
		case <-bs.quit:
			return false
		}
	}
	select {
	case bs.order <- b:
		return true
	case <-bs.quit:
		return false
	}
}

// split splits every line of the block.
func (b *jsonlBlock) split(sp *jsonlSplitter) {
	defer close(b.done)
	for i := range b.lines {
		l := &b.lines[i]
		l.lo = len(b.pairs)
		b.pairs, l.null, l.err = sp.split(b.text[l.start:l.end:l.end], b.pairs)
		l.hi = len(b.pairs)
	}
}

// next is the next block in file order, split; ok is false after the
// last.
func (bs *jsonlBlocks) next() (b *jsonlBlock, ok bool) {
	b, ok = <-bs.order
	if ok {
		<-b.done
	}
	return b, ok
}

// close stops the goroutines, waits for them and closes the file.
func (bs *jsonlBlocks) close() error {
	bs.once.Do(func() { close(bs.quit) })
	bs.wg.Wait()
	if bs.f == nil {
		return nil
	}
	return bs.f.Close()
}
