package email

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tactcdp/tact/channels"
)

// Amazon SES feedback.
//
// SES publishes bounce, complaint and delivery notifications (and, through
// configuration-set event publishing, open and click events) to an SNS
// topic, which POSTs them to an HTTPS endpoint wrapped in an SNS envelope:
//
//	{"Type": "Notification", "MessageId": "...", "TopicArn": "...",
//	 "Timestamp": "...", "Message": "<the SES notification as a JSON string>", ...}
//
// The SES notification itself ("notificationType" for identity
// notifications, "eventType" for event publishing):
//
//	{"notificationType": "Bounce",
//	 "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
//	            "bouncedRecipients": [{"emailAddress": "..."}],
//	            "timestamp": "...", "feedbackId": "..."},
//	 "mail": {"messageId": "<SES id>", "timestamp": "...",
//	          "destination": ["..."],
//	          "headers": [{"name": "Message-ID", "value": "<...>"}, ...],
//	          "commonHeaders": {"messageId": "<...>"}}}
//
// Mapping: Bounce/Permanent → bounce_hard; Bounce/Transient and
// Undetermined → bounce_soft; Complaint → complaint (except feedback type
// "not-spam"); Delivery → delivered; Open → opened; Click → clicked (URL =
// click.link); Send, Reject, DeliveryDelay, Rendering Failure → nothing.
// ParseSES accepts the SNS envelope or a bare SES notification (as read
// from SQS or EventBridge "detail").
//
// SNS message signatures are not verified here: expose the endpoint under
// an unguessable path or behind authentication, and confirm subscriptions
// only for the expected TopicArn.

type snsEnvelope struct {
	Type         string `json:"Type"`
	MessageID    string `json:"MessageId"`
	TopicArn     string `json:"TopicArn"`
	Message      string `json:"Message"`
	SubscribeURL string `json:"SubscribeURL"`
}

type sesRecipient struct {
	EmailAddress string `json:"emailAddress"`
}

type sesNotification struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Bounce           *struct {
		BounceType        string         `json:"bounceType"`
		BounceSubType     string         `json:"bounceSubType"`
		BouncedRecipients []sesRecipient `json:"bouncedRecipients"`
		Timestamp         time.Time      `json:"timestamp"`
		FeedbackID        string         `json:"feedbackId"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients  []sesRecipient `json:"complainedRecipients"`
		Timestamp             time.Time      `json:"timestamp"`
		FeedbackID            string         `json:"feedbackId"`
		ComplaintFeedbackType string         `json:"complaintFeedbackType"`
	} `json:"complaint"`
	Delivery *struct {
		Recipients []string  `json:"recipients"`
		Timestamp  time.Time `json:"timestamp"`
	} `json:"delivery"`
	Open *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"open"`
	Click *struct {
		Timestamp time.Time `json:"timestamp"`
		Link      string    `json:"link"`
	} `json:"click"`
	Mail struct {
		MessageID   string    `json:"messageId"`
		Timestamp   time.Time `json:"timestamp"`
		Destination []string  `json:"destination"`
		Headers     []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		CommonHeaders struct {
			MessageID string `json:"messageId"`
		} `json:"commonHeaders"`
	} `json:"mail"`
}

// SNSSubscription is returned by ParseSES for an SNS
// SubscriptionConfirmation: the server confirms by GETting SubscribeURL
// (after checking TopicArn).
type SNSSubscription struct {
	TopicArn     string
	SubscribeURL string
}

// ErrNotFeedback means the body is neither an SNS envelope nor an SES notification.
var ErrNotFeedback = errors.New("email: not an SES/SNS feedback document")

// ParseSES parses an SES notification (see above). For an SNS subscription
// confirmation it returns no feedback and a non-nil *SNSSubscription.
func ParseSES(body []byte) ([]channels.Feedback, *SNSSubscription, error) {
	var env snsEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, ErrNotFeedback
	}
	inner := body
	eventID := ""
	switch env.Type {
	case "SubscriptionConfirmation":
		return nil, &SNSSubscription{TopicArn: env.TopicArn, SubscribeURL: env.SubscribeURL}, nil
	case "UnsubscribeConfirmation":
		return nil, nil, nil
	case "Notification":
		inner = []byte(env.Message)
		eventID = env.MessageID
	case "":
	default:
		return nil, nil, ErrNotFeedback
	}
	var n sesNotification
	if err := json.Unmarshal(inner, &n); err != nil {
		return nil, nil, ErrNotFeedback
	}
	kind := n.NotificationType
	if kind == "" {
		kind = n.EventType
	}
	if kind == "" {
		return nil, nil, ErrNotFeedback
	}
	msgID := strings.Trim(n.Mail.CommonHeaders.MessageID, "<> ")
	key := ""
	for _, h := range n.Mail.Headers {
		switch strings.ToLower(h.Name) {
		case "message-id":
			if msgID == "" {
				msgID = strings.Trim(h.Value, "<> ")
			}
		case "x-tact-key":
			key = strings.TrimSpace(h.Value)
		}
	}
	if msgID == "" {
		msgID = n.Mail.MessageID
	}
	if eventID == "" {
		eventID = n.Mail.MessageID
	}
	mk := func(k channels.FeedbackKind, addr string, at time.Time, detail string) (channels.Feedback, bool) {
		a, err := channels.NormalizeEmail(stripDisplayName(addr))
		if err != nil {
			return channels.Feedback{}, false
		}
		if at.IsZero() {
			at = n.Mail.Timestamp
		}
		return channels.Feedback{
			Kind: k, Channel: channels.Email, Address: a, ProviderMessageID: msgID, IdempotencyKey: key,
			ID: eventID + ":" + a, At: at, Provider: "ses", Detail: detail,
		}, true
	}
	var out []channels.Feedback
	add := func(k channels.FeedbackKind, addrs []string, at time.Time, detail, link string) {
		for _, a := range addrs {
			if f, ok := mk(k, a, at, detail); ok {
				f.URL = link
				out = append(out, f)
			}
		}
	}
	switch kind {
	case "Bounce":
		if n.Bounce == nil {
			return nil, nil, ErrNotFeedback
		}
		k := channels.FeedbackBounceSoft
		if n.Bounce.BounceType == "Permanent" {
			k = channels.FeedbackBounceHard
		}
		var addrs []string
		for _, r := range n.Bounce.BouncedRecipients {
			addrs = append(addrs, r.EmailAddress)
		}
		add(k, addrs, n.Bounce.Timestamp, n.Bounce.BounceType+"/"+n.Bounce.BounceSubType, "")
	case "Complaint":
		if n.Complaint == nil {
			return nil, nil, ErrNotFeedback
		}
		if n.Complaint.ComplaintFeedbackType == "not-spam" {
			return nil, nil, nil
		}
		var addrs []string
		for _, r := range n.Complaint.ComplainedRecipients {
			addrs = append(addrs, r.EmailAddress)
		}
		add(channels.FeedbackComplaint, addrs, n.Complaint.Timestamp, n.Complaint.ComplaintFeedbackType, "")
	case "Delivery":
		if n.Delivery == nil {
			return nil, nil, ErrNotFeedback
		}
		add(channels.FeedbackDelivered, n.Delivery.Recipients, n.Delivery.Timestamp, "", "")
	case "Open":
		var at time.Time
		if n.Open != nil {
			at = n.Open.Timestamp
		}
		add(channels.FeedbackOpened, n.Mail.Destination, at, "", "")
	case "Click":
		var at time.Time
		link := ""
		if n.Click != nil {
			at, link = n.Click.Timestamp, n.Click.Link
		}
		add(channels.FeedbackClicked, n.Mail.Destination, at, "", link)
	}
	return out, nil, nil
}

func stripDisplayName(a string) string {
	if i := strings.LastIndexByte(a, '<'); i >= 0 {
		if j := strings.IndexByte(a[i:], '>'); j > 0 {
			return a[i+1 : i+j]
		}
	}
	return a
}
