package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/segments"
)

// apiError is the JSON error body: {"error":{"code","message","field"}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, field, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func badRequest(field, format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "invalid", field, format, args...)
}

// errNotAvailable is returned by endpoints whose backing component is not
// wired into this server.
func errNotAvailable(what string) *apiError {
	return errf(http.StatusNotImplemented, "not_available", "", "%s is not available on this server", what)
}

// toAPIError maps core errors to HTTP errors; core packages know nothing
// of HTTP.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return badRequest(ve.Field, "%s", ve.Msg)
	}
	var ie *engine.ImportError
	if errors.As(err, &ie) {
		return badRequest(ie.Field, "%s", ie.Msg)
	}
	if errors.Is(err, engine.ErrNotFound) {
		return errf(http.StatusNotFound, "not_found", "", "%s", err.Error())
	}
	if errors.Is(err, segments.ErrTimeLimit) {
		return errf(http.StatusServiceUnavailable, "time_limit", "expr", "%s", err.Error())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errf(http.StatusServiceUnavailable, "unavailable", "", "request cancelled")
	}
	return errf(http.StatusInternalServerError, "internal", "", "internal error")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "route", routeOf(r), "code", ae.Code, "err", errClass(err))
	}
	if ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, ae.Status, map[string]any{"error": ae})
}

// errClass describes an error for logs without personal data: engine
// errors quote rejected values, so only their field and line are kept;
// anything else is reduced to its type.
func errClass(err error) string {
	var ve *engine.ValidationError
	if errors.As(err, &ve) {
		return "validation error in field " + ve.Field
	}
	var ie *engine.ImportError
	if errors.As(err, &ie) {
		return fmt.Sprintf("import refused at line %d field %q", ie.Line, ie.Field)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err.Error()
	}
	return fmt.Sprintf("%T", err)
}

func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method
}

// decodeJSONBytes decodes exactly one JSON value into v: unknown fields
// and trailing data are errors.
func decodeJSONBytes(data []byte, v any) *apiError {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("", "request body is empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) *apiError {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errf(http.StatusBadRequest, "malformed_json", "", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		return errf(http.StatusBadRequest, "invalid", te.Field, "field %q: want %s, got JSON %s", te.Field, te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errf(http.StatusBadRequest, "malformed_json", "", "malformed JSON: unexpected end of input")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return errf(http.StatusBadRequest, "unknown_field", f, "unknown field %q", f)
	}
	return errf(http.StatusBadRequest, "malformed_json", "", "malformed JSON: %s", msg)
}
