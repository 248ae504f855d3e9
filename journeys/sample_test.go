package journeys

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/sample"
)

// TestExampleJourneysOnTheSample publishes every example spec against the
// generated sample data and runs ten days of journey time: every journey
// stays healthy and each one sends.
func TestExampleJourneysOnTheSample(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clk.Set(sample.DefaultNow())
	dir := t.TempDir()
	m, err := sample.Write(dir, sample.Options{Profiles: 300})
	require.NoError(t, err)
	for _, f := range m.Files {
		_, err := e.store.Import(e.ctx, engine.ImportKind(f.Kind), filepath.Join(dir, f.Name))
		require.NoError(t, err, f.Name)
	}
	set, err := LoadTemplates("../testdata/templates", "../testdata/journeys/templates")
	require.NoError(t, err)
	lineRec := &recorder{name: "line"}
	r, err := New(e.store, Config{Channels: append(e.r.cfg.Channels, lineRec), Evaluator: NewSegmentsEvaluator(e.store), Templates: set})
	require.NoError(t, err)
	e.r = r
	files, err := filepath.Glob("../testdata/journeys/*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = r.Publish(e.ctx, f, src)
		require.NoError(t, err, f)
	}
	// A receipt through the API and carts through events.
	ids, err := NewSegmentsEvaluator(e.store).Members(e.ctx, `email != nil`, e.clk.Now())
	require.NoError(t, err)
	n, err := r.Trigger(e.ctx, "transactional-receipt", []APIEntry{{ProfileID: ids[0], Ref: "o-1", Payload: map[string]any{"order_id": "o-1", "currency": "THB", "total": 120, "ordered_at": "2026-11-01T10:00:00Z"}}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var carts []map[string]any
	for i, id := range ids[:20] {
		p, err := e.store.Profile(e.ctx, id)
		require.NoError(t, err)
		carts = append(carts, map[string]any{"email": p.Email, "event": "added_to_cart", "timestamp": e.clk.Now().Add(time.Minute).Format(time.RFC3339),
			"message_id": "cart-" + p.Email, "properties": map[string]any{"cart_value": 400 + 50*i, "cart_url": "https://shop.example.com/cart"}})
	}
	_, err = e.store.ImportRows(e.ctx, engine.ImportEvents, "carts", carts)
	require.NoError(t, err)
	for h := 0; h < 10*24; h += 3 {
		res, err := r.RunUntilIdle(e.ctx, "")
		require.NoError(t, err)
		require.Empty(t, res.Errors)
		e.clk.Advance(3 * time.Hour)
	}
	list, err := r.List(e.ctx)
	require.NoError(t, err)
	require.Len(t, list, 6)
	for _, j := range list {
		require.Equal(t, "ok", j.Health, j.Name)
		st := e.stats(j.Name)
		require.Greater(t, st.Entered, int64(0), j.Name)
		var sent int64
		for _, s := range st.Steps {
			sent += s.Sent
		}
		require.Greater(t, sent, int64(0), j.Name)
	}
	require.NotEmpty(t, lineRec.sent(), "the LINE journey reaches the sample's LINE followers")
	for _, m := range lineRec.sent() {
		require.Regexp(t, `^U[0-9a-f]{32}$`, m.To)
	}
}
