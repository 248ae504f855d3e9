package server

import (
	"context"
	"net/http"
	"time"

	"github.com/tactcdp/tact/engine"
)

// Deliverability and requests: sends, bounces, complaints and
// unsubscribes per day for a channel, failed sends with their reasons,
// and (for admins) open and overdue privacy requests.

func (c *console) mountReports(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/reports", c.need(RoleRead, c.handleReports))
}

// failedSend is one send whose latest attempt failed.
type failedSend struct {
	At                     time.Time
	Journey, Step, Channel string
	ProfileID              int64
	Reason                 string
}

// reportsData feeds reports.html.
type reportsData struct {
	Channel  string
	Channels []string
	Days     int
	Chart    string
	Totals   map[string]int64
	Failed   []failedSend
	Requests []engine.Request
	Failure  string
}

const reportDays = 14

func (c *console) handleReports(w http.ResponseWriter, r *http.Request) {
	v := c.newView(r, "reports", "c.reports")
	ch := r.URL.Query().Get("channel")
	d := reportsData{Channel: "email", Channels: consoleChannels(), Days: reportDays, Totals: map[string]int64{}}
	for _, k := range d.Channels {
		if k == ch {
			d.Channel = ch
		}
	}
	ctx := r.Context()
	days, ss, err := c.daily(ctx, d.Channel)
	if err == nil {
		d.Chart = dailyChart(v.Lang, T(v.Lang, "c.reports"), days, ss)
		for _, s := range ss {
			for _, n := range s.Points {
				d.Totals[s.Key] += n
			}
		}
		d.Failed, err = c.failedSends(ctx)
	}
	if err == nil && v.IsAdmin {
		d.Requests, err = c.s.store.Requests(ctx, engine.RequestFilter{})
	}
	if err != nil {
		d.Failure = c.failureText(v.Lang, err)
	}
	v.Data = d
	c.render(w, http.StatusOK, "reports", v)
}

// daily counts per day (UTC) over the last reportDays days: delivered
// sends from the journey outcomes, and bounce, complaint and unsubscribe
// feedback events (channels.Feedback's <channel>_<verb> events).
func (c *console) daily(ctx context.Context, channel string) ([]string, []series, error) {
	end := c.s.clock.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	start := end.Add(-reportDays * 24 * time.Hour)
	days := make([]string, reportDays)
	idx := map[string]int{}
	for i := range days {
		days[i] = start.Add(time.Duration(i) * 24 * time.Hour).Format("2006-01-02")
		idx[days[i]] = i
	}
	ss := []series{{Key: "c.m_sent", Class: "s-sent"}, {Key: "c.m_bounced", Class: "s-bounce"}, {Key: "c.m_complained", Class: "s-complaint"}, {Key: "c.m_unsubscribed", Class: "s-unsub"}}
	for i := range ss {
		ss[i].Points = make([]int64, reportDays)
	}
	rows, err := c.s.store.DB().QueryContext(ctx, `SELECT strftime(date_trunc('day', r.at), '%Y-%m-%d'), 0, count(*) FROM journey_results r
JOIN journey_outbox o ON o.id = r.outbox_id
WHERE r.status = 'delivered' AND o.channel = ? AND r.at >= ? AND r.at < ? GROUP BY 1
UNION ALL
SELECT strftime(date_trunc('day', ts), '%Y-%m-%d'),
  CASE event WHEN ? THEN 1 WHEN ? THEN 2 ELSE 3 END, count(*) FROM events
WHERE event IN (?, ?, ?) AND ts >= ? AND ts < ? GROUP BY 1, 2`,
		channel, start, end,
		channel+"_bounced", channel+"_complained",
		channel+"_bounced", channel+"_complained", channel+"_unsubscribed", start, end)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var day string
		var k int
		var n int64
		if err := rows.Scan(&day, &k, &n); err != nil {
			return nil, nil, err
		}
		if i, ok := idx[day]; ok && k >= 0 && k < len(ss) {
			ss[k].Points[i] += n
		}
	}
	return days, ss, rows.Err()
}

// failedSends lists the latest 50 sends whose last attempt, within the
// report's window, failed (only the window's results are grouped).
func (c *console) failedSends(ctx context.Context) ([]failedSend, error) {
	since := c.s.clock.Now().Add(-reportDays * 24 * time.Hour)
	rows, err := c.s.store.DB().QueryContext(ctx, `SELECT l.at, o.journey, o.step, o.channel, o.profile_id, coalesce(l.reason, '')
FROM (SELECT outbox_id, max(at) AS at, arg_max(status, attempt) AS status, arg_max(reason, attempt) AS reason
      FROM journey_results WHERE at >= ? GROUP BY outbox_id) l
JOIN journey_outbox o ON o.id = l.outbox_id
WHERE l.status = 'failed' ORDER BY l.at DESC LIMIT 50`, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []failedSend
	for rows.Next() {
		var f failedSend
		if err := rows.Scan(&f.At, &f.Journey, &f.Step, &f.Channel, &f.ProfileID, &f.Reason); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
