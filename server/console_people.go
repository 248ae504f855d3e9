package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tactcdp/tact/engine"
	"github.com/tactcdp/tact/engine/consent"
)

// People: search by any identifier, a profile page (traits, identities,
// merges, events, consent ledger, journeys and messages), and for admins
// the privacy actions behind a confirmation step. Every read is audited
// with the same DataAccess entries the API writes.

func (c *console) mountPeople(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/people", c.need(RoleRead, c.handlePeopleSearch))
	mux.HandleFunc("GET /console/people/{id}", c.need(RoleRead, c.handleProfile))
	mux.HandleFunc("POST /console/people/{id}/privacy", c.need(RoleAdmin, c.handlePrivacyAction))
}

// contactKind reports identity kinds masked below admin.
func contactKind(kind string) bool {
	switch kind {
	case "email", "phone", "device_token", "line_user_id":
		return true
	}
	return false
}

// maskContact hides most of an address: "a•••@example.com", "+66•••••78".
func maskContact(kind, v string) string {
	if v == "" {
		return ""
	}
	r := []rune(v)
	if kind == "email" {
		if at := strings.LastIndex(v, "@"); at > 0 {
			return string([]rune(v[:at])[:1]) + "•••" + v[at:]
		}
	}
	if len(r) <= 4 {
		return "••••"
	}
	return string(r[:3]) + strings.Repeat("•", len(r)-5) + string(r[len(r)-2:])
}

// personView is a profile prepared for display: contact details masked
// unless the viewer is an admin.
type personView struct {
	Profile    engine.Profile
	Email      string
	Phone      string
	Traits     []kv
	Identities []engine.Identity
	Merges     []engine.MergeRecord
	Events     []engine.Event
	Ledger     []consent.Entry
	States     []engine.ConsentView
	Journeys   []instanceRow
	Messages   []messageRow
	Requests   []engine.Request
	Confirm    string
}

type kv struct{ Key, Value string }

func traitText(v any) string {
	switch t := v.(type) {
	case nil:
		return "—"
	case time.Time:
		return t.UTC().Format("2006-01-02 15:04")
	}
	return fmt.Sprint(v)
}

func (c *console) handlePeopleSearch(w http.ResponseWriter, r *http.Request) {
	v := c.newView(r, "people", "c.people")
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q != "" {
		id, err := c.s.store.ResolveUser(r.Context(), q)
		if err == nil {
			http.Redirect(w, r, fmt.Sprintf("%s/people/%d", consolePrefix, id), http.StatusSeeOther)
			return
		}
		if !errors.Is(err, engine.ErrNotFound) {
			v.Error = T(v.Lang, "c.err_generic")
		} else {
			v.Error = T(v.Lang, "c.no_match")
		}
	}
	v.Data = q
	c.render(w, http.StatusOK, "people", v)
}

func (c *console) handleProfile(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.fail(w, r, http.StatusNotFound, "c.err_notfound")
		return
	}
	pv, err := c.loadPerson(r, id)
	if errors.Is(err, engine.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, "c.err_notfound")
		return
	}
	if err != nil {
		c.s.log.Error("console profile failed", "err", errClass(err))
		c.fail(w, r, http.StatusInternalServerError, "c.err_generic")
		return
	}
	v := c.newView(r, "people", "c.profile")
	v.Title = fmt.Sprintf("%s #%d", T(v.Lang, "c.profile"), id)
	v.Notice = noticeFrom(v.Lang, r.URL.Query())
	if v.IsAdmin {
		pv.Confirm = r.URL.Query().Get("confirm")
	}
	v.Data = pv
	c.render(w, http.StatusOK, "profile", v)
}

// loadPerson reads everything the profile page shows and audits it.
func (c *console) loadPerson(r *http.Request, id int64) (*personView, error) {
	ctx := r.Context()
	st := c.s.store
	p, err := st.Profile(ctx, id)
	if err != nil {
		return nil, err
	}
	pv := &personView{Profile: p, Email: p.Email, Phone: p.Phone}
	if pv.Identities, err = st.Identities(ctx, id); err != nil {
		return nil, err
	}
	if pv.Events, err = st.Events(ctx, id, 50); err != nil {
		return nil, err
	}
	if pv.Merges, err = st.Merges(ctx, id); err != nil {
		return nil, err
	}
	if pv.Ledger, err = st.ConsentLedger(ctx, id); err != nil {
		return nil, err
	}
	if pv.States, err = st.ConsentStates(ctx, id, c.s.clock.Now()); err != nil {
		return nil, err
	}
	if pv.Journeys, pv.Messages, err = c.personJourneys(ctx, id); err != nil {
		return nil, err
	}
	admin := sessionOf(r).p.role.allows(RoleAdmin)
	if admin {
		if pv.Requests, err = st.Requests(ctx, engine.RequestFilter{All: true, ProfileID: id}); err != nil {
			return nil, err
		}
	} else {
		pv.Email, pv.Phone = maskContact("email", p.Email), maskContact("phone", p.Phone)
		for i, idn := range pv.Identities {
			if contactKind(idn.Kind) {
				pv.Identities[i].Value = maskContact(idn.Kind, idn.Value)
			}
		}
		for i := range pv.Messages {
			pv.Messages[i].To = ""
		}
	}
	keys := make([]string, 0, len(p.Traits))
	for k := range p.Traits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pv.Traits = append(pv.Traits, kv{k, traitText(p.Traits[k])})
	}
	actor := consoleActor(r)
	for _, a := range []engine.DataAccess{
		{Actor: actor, What: "profile show", ProfileID: id, Rows: int64(1 + len(pv.Identities) + len(pv.Events))},
		{Actor: actor, What: "consent history", ProfileID: id, Rows: int64(len(pv.Ledger))},
	} {
		if err := st.RecordAccess(ctx, a); err != nil {
			return nil, err
		}
	}
	return pv, nil
}

// instanceRow is one journey a person entered.
type instanceRow struct {
	Journey  string
	Version  int
	Step     string
	Status   string
	Entered  time.Time
	Finished *time.Time
	Reason   string
}

// messageRow is one send to a person with its latest outcome.
type messageRow struct {
	Journey, Step, Channel, Template string
	At                               time.Time
	Status, Reason                   string
	To                               string
}

// personJourneys reads a person's journey instances and sends from the
// journey tables (the person's rows only: both queries are narrowed to the
// profile before anything is grouped).
func (c *console) personJourneys(ctx context.Context, id int64) ([]instanceRow, []messageRow, error) {
	ins, err := c.personInstances(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	msgs, err := c.personMessages(ctx, id)
	return ins, msgs, err
}

func (c *console) personInstances(ctx context.Context, id int64) ([]instanceRow, error) {
	rows, err := c.s.store.DB().QueryContext(ctx, `SELECT journey, version, step, status, entered_at, finished_at, coalesce(exit_reason, '')
FROM journey_instances WHERE profile_id = ? ORDER BY entered_at DESC LIMIT 50`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ins []instanceRow
	for rows.Next() {
		var i instanceRow
		if err := rows.Scan(&i.Journey, &i.Version, &i.Step, &i.Status, &i.Entered, &i.Finished, &i.Reason); err != nil {
			return nil, err
		}
		ins = append(ins, i)
	}
	return ins, rows.Err()
}

func (c *console) personMessages(ctx context.Context, id int64) ([]messageRow, error) {
	rows, err := c.s.store.DB().QueryContext(ctx, `WITH mine AS (SELECT * FROM journey_outbox WHERE profile_id = ? ORDER BY created_at DESC LIMIT 50)
SELECT o.journey, o.step, o.channel, coalesce(o.template, ''), o.created_at, coalesce(l.status, 'pending'), coalesce(l.reason, '')
FROM mine o
LEFT JOIN (SELECT outbox_id, arg_max(status, attempt) AS status, arg_max(reason, attempt) AS reason
           FROM journey_results WHERE outbox_id IN (SELECT id FROM mine) GROUP BY outbox_id) l ON l.outbox_id = o.id
ORDER BY o.created_at DESC`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []messageRow
	for rows.Next() {
		var m messageRow
		if err := rows.Scan(&m.Journey, &m.Step, &m.Channel, &m.Template, &m.At, &m.Status, &m.Reason); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// privacyOp reports the admin actions on a profile page.
func privacyOp(op string) bool {
	switch op {
	case "export", "restrict", "unrestrict", "object", "unobject", "erase":
		return true
	}
	return false
}

// handlePrivacyAction carries out a privacy action through the server's
// Privacy (the API's), after a confirmation step: the first post shows
// the confirmation, the second (confirmed=yes) acts.
func (c *console) handlePrivacyAction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	op := r.PostForm.Get("op")
	if err != nil || !privacyOp(op) {
		c.fail(w, r, http.StatusBadRequest, "c.err_generic")
		return
	}
	back := fmt.Sprintf("%s/people/%d", consolePrefix, id)
	if r.PostForm.Get("confirmed") != "yes" {
		redirect(w, r, back, url.Values{"confirm": {op}})
		return
	}
	ctx := r.Context()
	user := "profile:" + strconv.FormatInt(id, 10)
	if p, err := c.s.store.Profile(ctx, id); err == nil && p.UserID != "" {
		user = p.UserID
	} else if ids, err := c.s.store.Identities(ctx, id); err == nil && len(ids) > 0 {
		user = ids[0].Value
	}
	opts := engine.PrivacyOptions{Actor: consoleActor(r)}
	var res any
	switch op {
	case "export":
		res, err = c.s.privacy.Export(ctx, user, opts)
	case "restrict", "unrestrict":
		res, err = c.s.privacy.Restrict(ctx, user, op == "restrict", opts)
	case "object", "unobject":
		res, err = c.s.privacy.Object(ctx, user, op == "object", opts)
	case "erase":
		res, err = c.s.privacy.Erase(ctx, user, opts)
	}
	if err != nil {
		c.s.log.Error("console privacy action failed", "op", op, "err", errClass(err))
		c.fail(w, r, toAPIError(err).Status, "c.err_generic")
		return
	}
	if op == "export" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="profile-%d.json"`, id))
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, res)
		return
	}
	if op == "erase" {
		redirect(w, r, consolePrefix+"/people", url.Values{"done": {"1"}})
		return
	}
	redirect(w, r, back, url.Values{"done": {"1"}})
}
