package server

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The Segment HTTP Tracking API (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/):
// POST /v1/identify, /v1/track, /v1/page, /v1/screen, /v1/group, /v1/alias
// and /v1/batch, JSON (optionally gzip-encoded), the write key as the
// basic-auth user name (or a "writeKey" field). Unknown message fields are
// ignored so that every SDK version works unchanged.

const (
	maxSegmentMessage = 32 << 10 // Segment's per-message limit
	maxSegmentBatch   = 500 << 10
	maxIdentifier     = 512
	maxEventName      = 200
)

// segID is an identifier sent as a JSON string or number.
type segID string

func (s *segID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*s = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = segID(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("want a string or a number")
	}
	*s = segID(n.String())
	return nil
}

// segMessage is one message of the tracking API.
type segMessage struct {
	Type              string         `json:"type"`
	MessageID         segID          `json:"messageId"`
	UserID            segID          `json:"userId"`
	AnonymousID       segID          `json:"anonymousId"`
	PreviousID        segID          `json:"previousId"`
	GroupID           segID          `json:"groupId"`
	Event             string         `json:"event"`
	Name              string         `json:"name"`
	Category          string         `json:"category"`
	Properties        map[string]any `json:"properties"`
	Traits            map[string]any `json:"traits"`
	Context           map[string]any `json:"context"`
	Timestamp         string         `json:"timestamp"`
	OriginalTimestamp string         `json:"originalTimestamp"`
	SentAt            string         `json:"sentAt"`
	WriteKey          string         `json:"writeKey"`
}

type segBatch struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   string            `json:"sentAt"`
	Context  map[string]any    `json:"context"`
	WriteKey string            `json:"writeKey"`
}

// readIngestBody reads a (possibly gzip-encoded) body within limit bytes.
func readIngestBody(r *http.Request, limit int64) ([]byte, *apiError) {
	var body io.Reader = r.Body
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, badRequest("", "body is not valid gzip")
		}
		defer func() { _ = zr.Close() }()
		body = zr
	default:
		return nil, errf(http.StatusUnsupportedMediaType, "unsupported_encoding", "", "Content-Encoding %q is not supported (want gzip or none)", r.Header.Get("Content-Encoding"))
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errf(http.StatusRequestEntityTooLarge, "too_large", "", "request body exceeds %d bytes", mbe.Limit)
		}
		return nil, badRequest("", "cannot read the request body (bad gzip data?)")
	}
	if int64(len(data)) > limit {
		return nil, errf(http.StatusRequestEntityTooLarge, "too_large", "", "request body exceeds %d bytes", limit)
	}
	return data, nil
}

// writeKeyOf returns the write key from basic auth, or "".
func writeKeyOf(r *http.Request) string {
	if u, _, ok := r.BasicAuth(); ok {
		return u
	}
	return ""
}

func (s *Server) validWriteKey(k string) bool {
	_, ok := s.writeKey(k)
	return ok
}

// writeKey checks k against the configured write keys (in constant time)
// and returns its trust level.
func (s *Server) writeKey(k string) (Trust, bool) {
	if k == "" {
		return "", false
	}
	found := -1
	for i, wk := range s.writeKeys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(wk)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	trust := s.cfg.WriteKeys[found].Trust
	if trust == "" {
		trust = TrustClient
	}
	return trust, true
}

// handleSegment serves /v1/{type}; typ is "" for /v1/batch.
func (s *Server) handleSegment(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		received := s.clock.Now().UTC()
		limit := s.ingestLimit
		r.Body = http.MaxBytesReader(w, r.Body, limit*4) // compressed size bound
		data, aerr := readIngestBody(r, limit)
		if aerr != nil {
			s.metrics.ingestRejected.WithLabelValues(aerr.Code).Inc()
			s.writeError(w, r, aerr)
			return
		}
		var msgs []segMessage
		var key string
		if typ == "" {
			var b segBatch
			if err := jsonLenient(data, &b); err != nil {
				s.metrics.ingestRejected.WithLabelValues(err.Code).Inc()
				s.writeError(w, r, err)
				return
			}
			key = b.WriteKey
			if len(b.Batch) == 0 {
				s.writeError(w, r, badRequest("batch", "batch is empty or missing"))
				return
			}
			for i, raw := range b.Batch {
				if len(raw) > maxSegmentMessage {
					s.writeError(w, r, errf(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("batch[%d]", i), "message exceeds %d bytes", maxSegmentMessage))
					return
				}
				var m segMessage
				if err := jsonLenient(raw, &m); err != nil {
					err.Field = prefixField(fmt.Sprintf("batch[%d]", i), err.Field)
					s.writeError(w, r, err)
					return
				}
				if m.SentAt == "" {
					m.SentAt = b.SentAt
				}
				m.Context = mergeContext(b.Context, m.Context)
				msgs = append(msgs, m)
			}
		} else {
			if len(data) > maxSegmentMessage {
				s.writeError(w, r, errf(http.StatusRequestEntityTooLarge, "too_large", "", "message exceeds %d bytes", maxSegmentMessage))
				return
			}
			var m segMessage
			if err := jsonLenient(data, &m); err != nil {
				s.writeError(w, r, err)
				return
			}
			if m.Type == "" {
				m.Type = typ
			}
			if m.Type != typ {
				s.writeError(w, r, badRequest("type", "type %q does not match the endpoint /v1/%s", m.Type, typ))
				return
			}
			key = m.WriteKey
			msgs = []segMessage{m}
		}
		if k := writeKeyOf(r); k != "" {
			key = k
		}
		trust, ok := s.writeKey(key)
		if !ok {
			s.metrics.ingestRejected.WithLabelValues("unauthorized").Inc()
			w.Header().Set("WWW-Authenticate", `Basic realm="tact"`)
			s.writeError(w, r, errf(http.StatusUnauthorized, "unauthorized", "", "missing or invalid write key"))
			return
		}
		item := &ingestItem{types: map[string]int{}, untrusted: trust != TrustServer}
		for i, m := range msgs {
			field := ""
			if typ == "" {
				field = fmt.Sprintf("batch[%d]", i)
			}
			if err := s.convertMessage(&m, received, item); err != nil {
				err.Field = prefixField(field, err.Field)
				s.metrics.ingestRejected.WithLabelValues("invalid").Inc()
				s.writeError(w, r, err)
				return
			}
			item.types[m.Type]++
			item.n++
		}
		if err := s.ingest.submit(r.Context(), item); err != nil {
			s.writeError(w, r, importErr(err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	}
}

func prefixField(prefix, f string) string {
	switch {
	case prefix == "":
		return f
	case f == "":
		return prefix
	}
	return prefix + "." + f
}

// jsonLenient decodes a Segment body: unknown fields are ignored (SDKs add
// fields over time), but the syntax and the known fields' types are checked.
func jsonLenient(data []byte, v any) *apiError {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("", "request body is empty; want a JSON object")
	}
	if err := checkJSONText(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "unexpected data after the JSON value")
	}
	return nil
}

func mergeContext(batch, msg map[string]any) map[string]any {
	if len(batch) == 0 {
		return msg
	}
	out := make(map[string]any, len(batch)+len(msg))
	for k, v := range batch {
		out[k] = v
	}
	for k, v := range msg {
		out[k] = v
	}
	return out
}

// parseSegTime parses an ISO 8601 timestamp as the SDKs send it.
func parseSegTime(field, v string) (time.Time, *apiError) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, badRequest(field, "%q is not an ISO 8601 timestamp", v)
}

// eventTime applies Segment's clock-skew correction: the client's clock is
// off by sentAt - receivedAt, so timestamp is shifted by receivedAt - sentAt.
func eventTime(m *segMessage, received time.Time) (time.Time, *apiError) {
	ts := received
	raw := m.Timestamp
	if raw == "" {
		raw = m.OriginalTimestamp
	}
	if raw != "" {
		t, err := parseSegTime("timestamp", raw)
		if err != nil {
			return time.Time{}, err
		}
		ts = t
		if m.SentAt != "" {
			sent, err := parseSegTime("sentAt", m.SentAt)
			if err != nil {
				return time.Time{}, err
			}
			ts = ts.Add(received.Sub(sent))
		}
	}
	return ts.Truncate(time.Microsecond), nil
}

func checkID(field string, v segID) *apiError {
	if len(v) > maxIdentifier {
		return badRequest(field, "longer than %d characters", maxIdentifier)
	}
	if strings.TrimSpace(string(v)) == "" && v != "" {
		return badRequest(field, "is blank")
	}
	return nil
}
