package email

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
)

// ParseReport parses a bounce or complaint report received by email (for
// example by the mailbox of the envelope sender):
//
//   - RFC 3464 delivery status notifications (multipart/report;
//     report-type=delivery-status): per recipient, Action failed with a
//     Status of 5.1.1, 5.1.2, 5.1.3, 5.1.6 or 5.1.10 is bounce_hard, other
//     failures are bounce_soft, delivered/relayed are delivered, delayed is
//     ignored;
//   - RFC 5965 ARF feedback reports (report-type=feedback-report) with
//     Feedback-Type abuse or fraud: complaint for Original-Rcpt-To, or the
//     To of the returned message.
//
// The original Message-ID and X-Tact-Key are taken from the returned
// message or headers part when present. at is used when the report has no
// Arrival-Date/Date.
func ParseReport(r io.Reader, at time.Time) ([]channels.Feedback, error) {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return nil, fmt.Errorf("email: report: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" {
		return nil, fmt.Errorf("%w: not multipart/report", ErrNotFeedback)
	}
	if d, err := msg.Header.Date(); err == nil {
		at = d
	}
	reportType := strings.ToLower(params["report-type"])
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var status []textproto.MIMEHeader // first: per-message fields
	var original textproto.MIMEHeader
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("email: report: %w", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "message/delivery-status", "message/feedback-report", "message/global-delivery-status":
			status, err = readFieldBlocks(p)
			if err != nil {
				return nil, err
			}
		case "message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers":
			h, err := textproto.NewReader(bufio.NewReader(p)).ReadMIMEHeader()
			if err == nil || len(h) > 0 {
				original = h
			}
		}
	}
	if len(status) == 0 {
		return nil, fmt.Errorf("%w: report without status part", ErrNotFeedback)
	}
	msgID, key := "", ""
	if original != nil {
		msgID = strings.Trim(original.Get("Message-Id"), "<> ")
		key = strings.TrimSpace(original.Get("X-Tact-Key"))
	}
	base := channels.Feedback{Channel: channels.Email, ProviderMessageID: msgID, IdempotencyKey: key, At: at, Provider: "dsn"}
	var out []channels.Feedback
	switch reportType {
	case "delivery-status":
		if d, err := mail.ParseDate(status[0].Get("Arrival-Date")); err == nil {
			base.At = d
		}
		for _, rc := range status[1:] {
			addr := addressField(rc.Get("Final-Recipient"))
			if addr == "" {
				addr = addressField(rc.Get("Original-Recipient"))
			}
			a, err := channels.NormalizeEmail(addr)
			if err != nil {
				continue
			}
			f := base
			f.Address = a
			st := strings.TrimSpace(rc.Get("Status"))
			f.Detail = st
			switch strings.ToLower(strings.TrimSpace(rc.Get("Action"))) {
			case "failed":
				f.Kind = channels.FeedbackBounceSoft
				if hardStatus(st) {
					f.Kind = channels.FeedbackBounceHard
				}
			case "delivered", "relayed":
				f.Kind = channels.FeedbackDelivered
			default:
				continue
			}
			f.ID = msgID + ":" + a + ":" + st
			out = append(out, f)
		}
	case "feedback-report":
		ft := strings.ToLower(strings.TrimSpace(status[0].Get("Feedback-Type")))
		if ft != "abuse" && ft != "fraud" {
			return nil, nil
		}
		addr := addressField(status[0].Get("Original-Rcpt-To"))
		if addr == "" && original != nil {
			addr = stripDisplayName(original.Get("To"))
		}
		a, err := channels.NormalizeEmail(addr)
		if err != nil {
			return nil, fmt.Errorf("email: feedback report without a usable recipient")
		}
		if d, err := mail.ParseDate(status[0].Get("Arrival-Date")); err == nil {
			base.At = d
		}
		f := base
		f.Kind, f.Address, f.Detail, f.ID = channels.FeedbackComplaint, a, ft, msgID+":"+a+":complaint"
		out = append(out, f)
	default:
		return nil, fmt.Errorf("%w: report-type %q", ErrNotFeedback, reportType)
	}
	return out, nil
}

// hardStatus: enhanced status codes that mean the address does not exist.
func hardStatus(st string) bool {
	switch st {
	case "5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10":
		return true
	}
	return false
}

// addressField reads "rfc822; user@example.com".
func addressField(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[i+1:]
	}
	return strings.Trim(strings.TrimSpace(v), "<>")
}

// readFieldBlocks reads header blocks separated by blank lines.
func readFieldBlocks(r io.Reader) ([]textproto.MIMEHeader, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	var out []textproto.MIMEHeader
	for _, blk := range strings.Split(string(b), "\n\n") {
		if strings.TrimSpace(blk) == "" {
			continue
		}
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimLeft(blk, "\n") + "\n\n"))).ReadMIMEHeader()
		if err != nil && len(h) == 0 {
			return nil, fmt.Errorf("email: report fields: %w", err)
		}
		out = append(out, h)
	}
	return out, nil
}
