package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/tactcdp/tact/channels/linktoken"
	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// verifyLink checks a link token; on failure it answers and returns false.
func (s *Server) verifyLink(w http.ResponseWriter, r *http.Request, tok string, html bool) (linktoken.Claims, bool) {
	if tok == "" && r.URL.Query().Get(linktoken.TestParam) == "1" {
		// A test send's inert link (linktoken.Links.InertUnsubscribe): it
		// acts for nobody, and says so; 200, as one-click senders expect.
		if html {
			lang := s.pageLang(r, nil)
			s.render(w, http.StatusOK, "error", pageData{Lang: lang, Title: T(lang, "test_title"), Message: T(lang, "test_link"),
				Langs: langLinks(lang, r.URL.Path, r.URL.Query())})
		} else {
			writeJSON(w, http.StatusOK, map[string]any{"status": "test_link", "changed": false})
		}
		return linktoken.Claims{}, false
	}
	if len(s.verifiers) == 0 {
		if html {
			s.renderError(w, r, http.StatusNotFound, "error_invalid")
		} else {
			s.writeError(w, r, errNotAvailable("signed links"))
		}
		return linktoken.Claims{}, false
	}
	c, err := s.verify(tok)
	if err == nil && (!s.store.Policy().Known(c.Purpose) || !consent.KnownChannel(c.Channel)) {
		err = linktoken.ErrMalformed
	}
	if err != nil {
		status, key, code := http.StatusForbidden, "error_invalid", "invalid_token"
		switch {
		case errors.Is(err, linktoken.ErrExpired):
			status, key, code = http.StatusGone, "error_expired", "expired_token"
		case errors.Is(err, linktoken.ErrMalformed):
			status = http.StatusBadRequest
		}
		s.metrics.ingestRejected.WithLabelValues(code).Inc()
		s.log.Info("link refused", "route", routeOf(r), "reason", code)
		if html {
			s.renderError(w, r, status, key)
		} else {
			s.writeError(w, r, errf(status, code, "token", "%s", T(langEN, key)))
		}
		return linktoken.Claims{}, false
	}
	id, err := s.currentProfile(r.Context(), c.ProfileID)
	if err != nil {
		s.log.Error("merge log lookup failed", "err", errClass(err))
		if html {
			s.renderError(w, r, http.StatusInternalServerError, "error_generic")
		} else {
			s.writeError(w, r, err)
		}
		return linktoken.Claims{}, false
	}
	c.ProfileID = id
	return c, true
}

// currentProfile is the profile a link issued for id acts on: id, or, when
// id was merged away after the link was issued, the survivor the merge log
// leads to. An unknown or erased id stays as it is (the pages say 410).
func (s *Server) currentProfile(ctx context.Context, id int64) (int64, error) {
	if _, err := s.store.Profile(ctx, id); !errors.Is(err, engine.ErrNotFound) {
		return id, err
	}
	return s.store.SurvivorOf(ctx, id)
}

// verify checks tok against every configured signer: the server's keys
// and the channels' (rotation and two sources of links).
func (s *Server) verify(tok string) (linktoken.Claims, error) {
	var first error
	for _, v := range s.verifiers {
		c, err := v.Verify(tok)
		if err == nil {
			return c, nil
		}
		// An expiry or malformation is final; a bad signature may be
		// another signer's token.
		if !errors.Is(err, linktoken.ErrInvalidSignature) {
			return c, err
		}
		if first == nil {
			first = err
		}
	}
	return linktoken.Claims{}, first
}
