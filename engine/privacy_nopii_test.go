package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/clock"
	"github.com/tactcdp/tact/engine/consent"
	"github.com/tactcdp/tact/engine/logging"
)

// syncBuffer is a bytes.Buffer safe for the store's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoPersonalDataInLogs runs the import and privacy paths, at debug
// level, through a logger built by engine/logging, with distinctive
// identifiers and trait values, and fails if any appears in the output.
func TestNoPersonalDataInLogs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var out syncBuffer
	clk := clock.NewManual(refNow)
	path := filepath.Join(t.TempDir(), "tact.duckdb")
	s, err := engine.Open(ctx, path, engine.Options{Config: testConfig(), Clock: clk,
		Logger: logging.New(&out, logging.Options{Level: slog.LevelDebug})})
	require.NoError(t, err)
	defer s.Close()

	seedPeople(t, s)
	// A refused link (two user ids, one email) and a rejected file log warnings.
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "conflict.csv", fmt.Sprintf("user_id,email\nuid-other-31337,%s\n", controlEmail)))
	_, err = s.Import(ctx, engine.ImportProfiles, writeFile(t, "bad.csv", fmt.Sprintf("user_id,email,age\n%s,%s,not-a-number-%s\n", erasedUID, erasedEmail, erasedNick)))
	require.Error(t, err, "age is a known integer trait: the file is rejected (and the rejection logged)")
	require.NoError(t, s.RecordConsent(ctx, engine.ConsentInput{ProfileID: resolve(t, s, controlEmail), Purpose: "analytics", Channel: "*", Status: consent.Granted, Source: "cli"}))
	_, err = s.ExportPersonalData(ctx, controlPhone, engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = s.Rectify(ctx, controlEmail, map[string]string{"nickname": "Rectified-" + controlNick}, engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = s.Restrict(ctx, controlUID, engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = s.Object(ctx, controlUID, engine.PrivacyOptions{})
	require.NoError(t, err)
	_, err = s.OpenRequest(ctx, engine.RequestErase, erasedPhone, time.Time{}, "")
	require.NoError(t, err)
	_, err = s.Erase(ctx, erasedEmail, engine.EraseOptions{})
	require.NoError(t, err)
	clk.Advance(time.Hour)
	mustImport(t, s, engine.ImportProfiles, writeFile(t, "again.csv", fmt.Sprintf("email,phone,nickname\n%s,%s,%s\n", erasedEmail, erasedPhone, erasedNick)))
	mustImport(t, s, engine.ImportConsents, writeFile(t, "again-consents.csv", fmt.Sprintf("email,purpose,channel,status,timestamp\n%s,marketing,email,granted,2026-01-01T00:00:00Z\n", erasedEmail)))
	_, err = s.Purge(ctx, engine.RetentionPolicy{Events: map[string]engine.Duration{"*": engine.Duration(24 * time.Hour)}}, engine.PurgeOptions{})
	require.NoError(t, err)
	_, err = s.Erase(ctx, "nobody-"+erasedEmail, engine.EraseOptions{})
	require.ErrorIs(t, err, engine.ErrNotFound)

	logs := out.String()
	for _, want := range []string{"import done", "import rejected", "identity link refused", "profile erased", "personal data exported", "database compacted", "retention purge done"} {
		require.Contains(t, logs, want, "control: the paths did log")
	}
	for _, secret := range []string{erasedEmail, erasedPhone, erasedNick, erasedUID, erasedEventRf, erasedDevice, controlDevice, controlEmail, controlPhone,
		controlNick, controlUID, "uid-other-31337", "7700900123", "7700900987", "distinctive-erased-example", "distinctive-kept-example"} {
		require.NotContains(t, logs, secret)
	}
}
