package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// remoteCommands maps "command subcommand" to its admin API call. The
// flags are the local command's; the answer is the API's JSON.
func remoteCommands() map[string]remoteBuilder {
	return map[string]remoteBuilder{
		"profile show":       remoteUser("profile show", http.MethodGet, "/api/v1/profiles/{id}"),
		"consent show":       remoteUser("consent show", http.MethodGet, "/api/v1/profiles/{id}/consent"),
		"consent set":        remoteConsentSet,
		"segment check":      remoteExpr("segment check", "/api/v1/segments/check", false),
		"segment count":      remoteExpr("segment count", "/api/v1/segments/count", true),
		"segment members":    remoteMembers,
		"segment list":       remoteFixed("segment list", http.MethodGet, "/api/v1/segments"),
		"segment save":       remoteSegmentSave,
		"journey list":       remoteFixed("journey list", http.MethodGet, "/api/v1/journeys"),
		"journey validate":   remoteSpec("journey validate", "/api/v1/journeys/validate"),
		"journey publish":    remoteSpec("journey publish", "/api/v1/journeys"),
		"journey stats":      remoteNamed("journey stats", http.MethodGet, "/stats"),
		"journey failures":   remoteNamed("journey failures", http.MethodGet, "/failures"),
		"journey pause":      remoteNamed("journey pause", http.MethodPost, "/pause"),
		"journey resume":     remoteNamed("journey resume", http.MethodPost, "/resume"),
		"journey trigger":    remoteTrigger,
		"privacy export":     remotePrivacy("export"),
		"privacy erase":      remotePrivacy("erase"),
		"privacy restrict":   remotePrivacy("restrict"),
		"privacy unrestrict": remotePrivacy("unrestrict"),
		"privacy object":     remotePrivacy("object"),
		"privacy unobject":   remotePrivacy("unobject"),
		"privacy rectify":    remotePrivacy("rectify"),
		"privacy request":    remotePrivacyRequest,
		"privacy requests":   remotePrivacyRequests,
		"audit log":          remoteAuditLog,
	}
}

// remoteParse parses flags the way local commands do and checks the number
// of positional arguments.
func remoteParse(a *app, fs *flag.FlagSet, args []string, npos int, usage string) ([]string, error) {
	pos, err := a.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != npos {
		return nil, usagef("usage: tact %s", usage)
	}
	return pos, nil
}

func remoteFixed(name, method, path string) remoteBuilder {
	return func(a *app, args []string) (remoteRequest, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.Bool("json", true, "ignored: the server answers JSON")
		if _, err := remoteParse(a, fs, args, 0, name); err != nil {
			return remoteRequest{}, err
		}
		return remoteRequest{method: method, path: path}, nil
	}
}

func remoteUser(name, method, path string) remoteBuilder {
	return func(a *app, args []string) (remoteRequest, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		user := fs.String("user", "", "user_id, email, phone, anonymous id or #id")
		if _, err := remoteParse(a, fs, args, 0, name+" --user U"); err != nil {
			return remoteRequest{}, err
		}
		if *user == "" {
			return remoteRequest{}, usagef("%s: --user is required", name)
		}
		return remoteRequest{method: method, path: path, user: *user}, nil
	}
}

func remoteConsentSet(a *app, args []string) (remoteRequest, error) {
	fs := flag.NewFlagSet("consent set", flag.ContinueOnError)
	body := map[string]string{}
	for _, f := range []struct{ flag, field string }{{"user", "user"}, {"purpose", "purpose"}, {"channel", "channel"},
		{"status", "status"}, {"version", "version"}, {"expires", "expires_at"}, {"source", "source"}} {
		fs.Func(f.flag, f.field, func(v string) error { body[f.field] = v; return nil })
	}
	if _, err := remoteParse(a, fs, args, 0, "consent set --user U [--purpose P --channel C] --status S"); err != nil {
		return remoteRequest{}, err
	}
	if body["user"] == "" || body["status"] == "" {
		return remoteRequest{}, usagef("consent set: --user and --status are required")
	}
	return remoteRequest{method: http.MethodPost, path: "/api/v1/consents", body: body}, nil
}

func remoteExpr(name, path string, audience bool) remoteBuilder {
	return func(a *app, args []string) (remoteRequest, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.Bool("json", true, "ignored: the server answers JSON")
		purpose, channel := fs.String("purpose", "", "consent purpose"), fs.String("channel", "", "channel")
		pos, err := remoteParse(a, fs, args, 1, name+" EXPR")
		if err != nil {
			return remoteRequest{}, err
		}
		if !audience && (*purpose != "" || *channel != "") {
			return remoteRequest{}, usagef("%s: --purpose and --channel do not apply", name)
		}
		return remoteRequest{method: http.MethodPost, path: path,
			body: map[string]string{"expr": pos[0], "purpose": *purpose, "channel": *channel}}, nil
	}
}

func remoteMembers(a *app, args []string) (remoteRequest, error) {
	fs := flag.NewFlagSet("segment members", flag.ContinueOnError)
	purpose, channel := fs.String("purpose", "", "consent purpose"), fs.String("channel", "", "channel")
	format := fs.String("format", "csv", "csv, jsonl, parquet or arrow")
	out := fs.String("out", "", "write members to FILE")
	fs.Bool("all-fields", false, "contact fields without --purpose (the server decides by the token's role)")
	traits := fs.String("traits", "", "comma-separated trait columns to add")
	allTraits := fs.Bool("all-traits", false, "add every trait column")
	pos, err := remoteParse(a, fs, args, 1, "segment members EXPR [--purpose P --channel C] [--traits a,b | --all-traits] [--format F] [--out FILE]")
	if err != nil {
		return remoteRequest{}, err
	}
	body := map[string]any{"expr": pos[0], "purpose": *purpose, "channel": *channel, "format": *format, "all_traits": *allTraits}
	if *traits != "" {
		body["traits"] = strings.Split(*traits, ",") // the server validates each name
	}
	return remoteRequest{method: http.MethodPost, path: "/api/v1/segments/members", stream: true, out: *out, body: body}, nil
}

func remoteSegmentSave(a *app, args []string) (remoteRequest, error) {
	fs := flag.NewFlagSet("segment save", flag.ContinueOnError)
	pos, err := remoteParse(a, fs, args, 2, "segment save NAME EXPR")
	if err != nil {
		return remoteRequest{}, err
	}
	return remoteRequest{method: http.MethodPost, path: "/api/v1/segments", body: map[string]string{"name": pos[0], "expr": pos[1]}}, nil
}

func remoteSpec(name, path string) remoteBuilder {
	return func(a *app, args []string) (remoteRequest, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		pos, err := remoteParse(a, fs, args, 1, name+" FILE")
		if err != nil {
			return remoteRequest{}, err
		}
		spec, err := os.ReadFile(pos[0])
		if err != nil {
			return remoteRequest{}, err
		}
		return remoteRequest{method: http.MethodPost, path: path, body: spec}, nil
	}
}

func remoteNamed(name, method, suffix string) remoteBuilder {
	return func(a *app, args []string) (remoteRequest, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.Bool("json", true, "ignored: the server answers JSON")
		pos, err := remoteParse(a, fs, args, 1, name+" NAME")
		if err != nil {
			return remoteRequest{}, err
		}
		return remoteRequest{method: method, path: "/api/v1/journeys/" + url.PathEscape(pos[0]) + suffix}, nil
	}
}

func remoteTrigger(a *app, args []string) (remoteRequest, error) {
	fs := flag.NewFlagSet("journey trigger", flag.ContinueOnError)
	user, payload, ref := fs.String("user", "", "the person"), fs.String("payload", "", "JSON object"), fs.String("ref", "", "idempotency reference")
	pos, err := remoteParse(a, fs, args, 1, "journey trigger NAME --user U [--payload JSON]")
	if err != nil {
		return remoteRequest{}, err
	}
	if *user == "" {
		return remoteRequest{}, usagef("journey trigger: --user is required")
	}
	entry := map[string]any{"user": *user, "ref": *ref}
	if *payload != "" {
		var p map[string]any
		if err := json.Unmarshal([]byte(*payload), &p); err != nil {
			return remoteRequest{}, usagef("journey trigger: --payload: %v", err)
		}
		entry["payload"] = p
	}
	return remoteRequest{method: http.MethodPost, path: "/api/v1/journeys/" + url.PathEscape(pos[0]) + "/trigger",
		body: map[string]any{"entries": []any{entry}}}, nil
}

func remotePrivacy(op string) remoteBuilder {
	name := "privacy " + op
	return func(a *app, args []string) (remoteRequest, error) {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		user := fs.String("user", "", "the person")
		reqID := fs.Int64("request", 0, "the open request this fulfils")
		out := fs.String("out", "", "export: write the document to FILE")
		set := map[string]any{}
		fs.Func("set", "rectify: TRAIT=VALUE", func(v string) error {
			k, val, ok := strings.Cut(v, "=")
			if !ok || k == "" {
				return fmt.Errorf("want TRAIT=VALUE, got %q", v)
			}
			set[k] = val
			return nil
		})
		if _, err := remoteParse(a, fs, args, 0, name+" --user U"); err != nil {
			return remoteRequest{}, err
		}
		if *user == "" {
			return remoteRequest{}, usagef("%s: --user is required", name)
		}
		body := map[string]any{"user": *user, "request_id": *reqID}
		if op == "rectify" {
			body["set"] = set
		}
		return remoteRequest{method: http.MethodPost, path: "/api/v1/privacy/" + op, body: body, out: *out, stream: *out != ""}, nil
	}
}

func remotePrivacyRequest(a *app, args []string) (remoteRequest, error) {
	fs := flag.NewFlagSet("privacy request", flag.ContinueOnError)
	user, received := fs.String("user", "", "the person"), fs.String("received", "", "RFC 3339")
	pos, err := remoteParse(a, fs, args, 1, "privacy request KIND --user U [--received RFC3339]")
	if err != nil {
		return remoteRequest{}, err
	}
	return remoteRequest{method: http.MethodPost, path: "/api/v1/privacy/requests",
		body: map[string]string{"kind": pos[0], "user": *user, "received_at": *received}}, nil
}

func remotePrivacyRequests(a *app, args []string) (remoteRequest, error) {
	fs := flag.NewFlagSet("privacy requests", flag.ContinueOnError)
	fs.Bool("json", true, "ignored: the server answers JSON")
	all, overdue := fs.Bool("all", false, "include completed"), fs.Bool("overdue", false, "only overdue")
	if _, err := remoteParse(a, fs, args, 0, "privacy requests [--all|--overdue]"); err != nil {
		return remoteRequest{}, err
	}
	q := url.Values{}
	if *all {
		q.Set("all", "true")
	}
	if *overdue {
		q.Set("overdue", "true")
	}
	return remoteRequest{method: http.MethodGet, path: "/api/v1/privacy/requests", query: q}, nil
}

func remoteAuditLog(a *app, args []string) (remoteRequest, error) {
	fs := flag.NewFlagSet("audit log", flag.ContinueOnError)
	after, limit := fs.Int64("after", 0, "after this sequence number"), fs.Int("limit", 0, "at most N")
	if _, err := remoteParse(a, fs, args, 0, "audit log [--after SEQ] [--limit N]"); err != nil {
		return remoteRequest{}, err
	}
	q := url.Values{}
	if *after > 0 {
		q.Set("after", strconv.FormatInt(*after, 10))
	}
	if *limit > 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	return remoteRequest{method: http.MethodGet, path: "/api/v1/audit", query: q}, nil
}
