package server

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine"
)

// An ingest node's publisher failing for any reason is 503 (retry with the
// same ids), never a 500; a row the publisher cannot encode stays a 400.
func TestStreamErrIsUnavailable(t *testing.T) {
	t.Parallel()
	ie := &engine.ImportError{Line: 2, Field: "properties", Msg: "cannot encode"}
	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"no responders", errors.New("nats: no responders available for request"), http.StatusServiceUnavailable},
		{"refused by the stream", errors.New("nats: stream not found"), http.StatusServiceUnavailable},
		{"unencodable row", ie, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.status, toAPIError(streamErr(tc.err)).Status)
		})
	}
	require.NoError(t, streamErr(nil))
}
