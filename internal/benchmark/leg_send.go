package benchmark

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// sendLeg: the journey send step for SendPeople people into a discarding
// channel against a minimal outbox, and into the SMTP adapter against a
// raw SMTP client; then the SMTP adapter by itself against the raw client
// again. The SMTP cases send to one loopback sink.
func (r *runner) sendLeg(ctx context.Context) (Leg, error) {
	leg := Leg{Leg: LegSend}
	n := r.o.SendPeople
	prepared := r.scratch("send", "prepared.duckdb")
	stop := r.p.watch(fmt.Sprintf("send: preparing %d people through the importer", n), "", nil, nil)
	_, err := r.l.run(ctx, task{Name: taskSendPrepare, Dir: filepath.Join(r.o.Dir, "send"), DB: prepared, People: n})
	stop()
	if err != nil {
		return leg, err
	}
	defer removeDB(prepared)

	name := fmt.Sprintf("discard channel, %d people", n)
	tact, ref, err := r.pair(ctx, label("send", name),
		func(db string) task { return task{Name: taskSendTact, DB: db, People: n} },
		task{Name: taskSendRef, DB: r.scratch("send", "outbox.duckdb"), People: n}, prepared)
	if err != nil {
		return leg, err
	}
	leg.Cases = append(leg.Cases, newCase(name, tact, ref))

	sink, err := startSMTPSink()
	if err != nil {
		return leg, err
	}
	defer sink.close()
	name = fmt.Sprintf("SMTP to a loopback sink, %d connections, %d people", r.o.SMTPConns, n)
	tact, ref, err = r.pair(ctx, label("send", name),
		func(db string) task {
			return task{Name: taskSMTPTact, DB: db, People: n, Addr: sink.addr, Conns: r.o.SMTPConns}
		},
		task{Name: taskSMTPRef, People: n, Addr: sink.addr, Conns: r.o.SMTPConns}, prepared)
	if err != nil {
		return leg, err
	}
	leg.Cases = append(leg.Cases, newCase(name, tact, ref))

	// Issue 16's goal for the adapter: channels/email's SMTP adapter by
	// itself beside the raw client, same connections, same sink. Loopback
	// SMTP is CPU-bound on both ends and one run of either side moved by
	// a third with the machine's load, so the sides alternate and each
	// keeps its fastest run, as the segment leg's queries do.
	name = fmt.Sprintf("SMTP adapter alone to a loopback sink, %d connections, %d messages", r.o.SMTPConns, n)
	tact, ref = Side{}, Side{}
	for round := range r.o.SMTPRounds {
		t, f, err := r.sides(ctx, label("send", fmt.Sprintf("%s, round %d of %d", name, round+1, r.o.SMTPRounds)),
			task{Name: taskSMTPAdapter, People: n, Addr: sink.addr, Conns: r.o.SMTPConns},
			task{Name: taskSMTPRef, People: n, Addr: sink.addr, Conns: r.o.SMTPConns})
		if err != nil {
			return leg, err
		}
		tact, ref = faster(tact, t), faster(ref, f)
	}
	leg.Cases = append(leg.Cases, newCase(name, tact, ref))
	if got, want := sink.messages.Load(), int64((2+2*r.o.SMTPRounds)*n); got != want {
		return leg, fmt.Errorf("the SMTP sink received %d messages, want %d", got, want)
	}
	removeDB(r.scratch("send", "outbox.duckdb"))
	return leg, nil
}

// pair runs Tact's side on a copy of the prepared database, then the
// reference.
func (r *runner) pair(ctx context.Context, name string, tactTask func(db string) task, refTask task, prepared string) (Side, Side, error) {
	db := r.scratch("send", "run.duckdb")
	defer removeDB(db)
	if err := copyDB(prepared, db); err != nil {
		return Side{}, Side{}, err
	}
	return r.sides(ctx, name, tactTask(db), refTask)
}

// sides runs Tact's side, then the reference, each in a child process.
func (r *runner) sides(ctx context.Context, name string, tactTask, refTask task) (Side, Side, error) {
	stop := r.p.watch(name+" / tact", "", nil, nil)
	tact, err := r.l.runOne(ctx, tactTask)
	stop()
	if err != nil {
		return Side{}, Side{}, err
	}
	stop = r.p.watch(name+" / reference", "", nil, nil)
	ref, err := r.l.runOne(ctx, refTask)
	stop()
	return tact, ref, err
}

// faster is the side with the higher rate, a when they tie; its peak
// memory is the larger of the two, as the case's memory is the most any
// of its runs took.
func faster(a, b Side) Side {
	best := a
	if b.Rate > a.Rate {
		best = b
	}
	best.PeakRSSMiB = max(a.PeakRSSMiB, b.PeakRSSMiB)
	return best
}

// copyDB copies a closed database file with its companions (the
// write-ahead log, the store's hash key file: every "<name>.*").
func copyDB(from, to string) error {
	companions, err := filepath.Glob(from + ".*")
	if err != nil {
		return err
	}
	for _, f := range append([]string{from}, companions...) {
		if err := copyFile(f, to+strings.TrimPrefix(f, from)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}
