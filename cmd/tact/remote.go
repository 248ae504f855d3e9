package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// While tact serve runs, DuckDB's file lock keeps every other process out of
// the database, read-only opens included. With --server URL (or
// TACT_SERVER) the commands below go through that server's admin API
// instead, authenticated with TACT_TOKEN (or TACT_ADMIN_TOKEN).

// remoteRequest is one admin API call standing for a command.
type remoteRequest struct {
	method, path string
	query        url.Values
	// body is sent as JSON; a []byte is sent as is (journey specs).
	body any
	// user, when set, is resolved to a profile id through the profile
	// search first and replaces "{id}" in path.
	user string
	// out receives the response body as is (exports); "" prints the
	// response's JSON, indented.
	out    string
	stream bool
}

// remoteBuilder turns a command's arguments into its API call.
type remoteBuilder func(a *app, args []string) (remoteRequest, error)

// RemoteError is an error answer of the server's API.
type RemoteError struct {
	Status  int
	Code    string `json:"code"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *RemoteError) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return fmt.Sprintf("server: %s (HTTP %d %s)", msg, e.Status, e.Code)
}

// errNotRemote is a command that needs the database file itself.
type errNotRemote struct{ command string }

func (e *errNotRemote) Error() string {
	return fmt.Sprintf("%s works on the database file and cannot go through --server; stop tact serve first, or use the API (docs/http.md)", e.command)
}

// serverURL is --server or TACT_SERVER ("" = work on the database file).
func (a *app) serverURL() string {
	if a.server != "" {
		return a.server
	}
	return a.getenv("TACT_SERVER")
}

// dispatchRemote runs a command through the server's API.
func (a *app) dispatchRemote(ctx context.Context, name string, args []string) error {
	key := name
	if len(args) > 0 {
		if _, ok := remoteCommands()[name+" "+args[0]]; ok {
			key, args = name+" "+args[0], args[1:]
		}
	}
	build, ok := remoteCommands()[key]
	if !ok {
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			key = name + " " + args[0]
		}
		return &errNotRemote{command: key}
	}
	req, err := build(a, args)
	if err != nil {
		return err
	}
	return a.callRemote(ctx, req)
}

func (a *app) callRemote(ctx context.Context, req remoteRequest) error {
	base := strings.TrimRight(a.serverURL(), "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--server: %q is not an http(s) URL", base)
	}
	token := a.getenv("TACT_TOKEN")
	if token == "" {
		token = a.getenv("TACT_ADMIN_TOKEN")
	}
	if token == "" {
		return usagef("--server needs an API token in TACT_TOKEN (or TACT_ADMIN_TOKEN)")
	}
	c := &remoteClient{base: base, token: token, http: &http.Client{Timeout: 10 * time.Minute}}
	if req.user != "" {
		id, err := c.resolve(ctx, req.user)
		if err != nil {
			return err
		}
		req.path = strings.ReplaceAll(req.path, "{id}", fmt.Sprint(id))
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if req.stream {
		return a.writeStream(resp.Body, req.out)
	}
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return fmt.Errorf("server: unreadable answer: %w", err)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) writeStream(body io.Reader, out string) error {
	if out == "" {
		_, err := io.Copy(a.stdout, body)
		return err
	}
	// Written beside the target and renamed: an interrupted export leaves
	// no partial file under the name asked for. Mode 0600: exports hold
	// personal data.
	tmp := out + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

type remoteClient struct {
	base, token string
	http        *http.Client
}

func (c *remoteClient) do(ctx context.Context, req remoteRequest) (*http.Response, error) {
	var body io.Reader
	ctype := ""
	switch b := req.body.(type) {
	case nil:
	case []byte:
		body, ctype = bytes.NewReader(b), "application/yaml"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body, ctype = bytes.NewReader(data), "application/json"
	}
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Authorization", "Bearer "+c.token)
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var doc struct {
			Error RemoteError `json:"error"`
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if json.Unmarshal(data, &doc) != nil || doc.Error.Code == "" {
			doc.Error = RemoteError{Code: "unexpected", Message: oneLine(string(data))}
		}
		doc.Error.Status = resp.StatusCode
		return nil, &doc.Error
	}
	return resp, nil
}

// resolve finds the profile id of a user_id, email, phone, anonymous id or
// internal id (#N) through the profile search.
func (c *remoteClient) resolve(ctx context.Context, user string) (int64, error) {
	resp, err := c.do(ctx, remoteRequest{method: http.MethodGet, path: "/api/v1/profiles", query: url.Values{"identity": {user}}})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var doc struct {
		Profiles []struct {
			ID int64 `json:"id"`
		} `json:"profiles"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return 0, fmt.Errorf("server: unreadable answer: %w", err)
	}
	if len(doc.Profiles) == 0 {
		return 0, errors.New("no profile matches the given identifier")
	}
	return doc.Profiles[0].ID, nil
}
