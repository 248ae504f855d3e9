package email

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// sesBounce is shaped like the examples in the Amazon SES developer guide.
const sesBounce = `{
  "notificationType":"Bounce",
  "bounce":{
    "bounceType":"Permanent","bounceSubType":"General",
    "bouncedRecipients":[{"emailAddress":"Jane@Example.com","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"},
                         {"emailAddress":"Richard Roe <richard@example.com>","action":"failed","status":"5.1.1"}],
    "timestamp":"2016-01-27T14:59:38.237Z","feedbackId":"00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
    "remoteMtaIp":"127.0.2.0","reportingMTA":"dsn; a8-70.smtp-out.amazonses.com"
  },
  "mail":{
    "timestamp":"2016-01-27T14:59:38.237Z","source":"john@example.com","sourceArn":"arn:aws:ses:us-east-1:888888888888:identity/example.com",
    "sourceIp":"127.0.3.0","sendingAccountId":"123456789012",
    "messageId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
    "destination":["jane@example.com","mary@example.com","richard@example.com"],
    "headersTruncated":false,
    "headers":[{"name":"From","value":"\"John Doe\" <john@example.com>"},{"name":"To","value":"jane@example.com"},
               {"name":"Message-ID","value":"<tact.abc@coffee.example.com>"},{"name":"X-Tact-Key","value":"ik1_abc"}],
    "commonHeaders":{"from":["John Doe <john@example.com>"],"date":"Wed, 27 Jan 2016 14:05:45 +0000","to":["jane@example.com"],
                     "messageId":"<tact.abc@coffee.example.com>","subject":"Hello"}
  }
}`

func sns(t *testing.T, inner string) []byte {
	b, err := json.Marshal(map[string]string{
		"Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		"TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic", "Message": inner,
		"Timestamp": "2016-01-27T14:59:38.300Z", "SignatureVersion": "1", "Signature": "EXAMPLE",
		"SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
	})
	require.NoError(t, err)
	return b
}

func TestParseSES(t *testing.T) {
	t.Parallel()
	complaint := strings.NewReplacer(`"notificationType":"Bounce"`, `"notificationType":"Complaint"`,
		`"bounce":{`, `"complaint":{"complaintFeedbackType":"abuse","complainedRecipients":[{"emailAddress":"mary@example.com"}],"timestamp":"2016-01-27T15:00:00Z","feedbackId":"f1"},"x":{`).Replace(sesBounce)
	transient := strings.Replace(sesBounce, `"bounceType":"Permanent"`, `"bounceType":"Transient"`, 1)
	delivery := `{"eventType":"Delivery","delivery":{"timestamp":"2016-01-27T14:59:40Z","recipients":["jane@example.com"]},"mail":{"messageId":"m1","timestamp":"2016-01-27T14:59:38Z","destination":["jane@example.com"],"commonHeaders":{"messageId":"<x@y>"}}}`
	click := `{"eventType":"Click","click":{"timestamp":"2016-01-27T15:10:00Z","link":"https://coffee.example.com/menu","ipAddress":"192.0.2.1"},"mail":{"messageId":"m1","timestamp":"2016-01-27T14:59:38Z","destination":["jane@example.com"]}}`
	open := `{"eventType":"Open","open":{"timestamp":"2016-01-27T15:05:00Z"},"mail":{"messageId":"m1","destination":["jane@example.com"]}}`
	notSpam := strings.Replace(complaint, `"abuse"`, `"not-spam"`, 1)

	tests := []struct {
		name  string
		body  []byte
		kinds []channels.FeedbackKind
		addrs []string
	}{
		{"bounce via sns", sns(t, sesBounce), []channels.FeedbackKind{channels.FeedbackBounceHard, channels.FeedbackBounceHard}, []string{"jane@example.com", "richard@example.com"}},
		{"bare bounce", []byte(sesBounce), []channels.FeedbackKind{channels.FeedbackBounceHard, channels.FeedbackBounceHard}, []string{"jane@example.com", "richard@example.com"}},
		{"transient bounce", sns(t, transient), []channels.FeedbackKind{channels.FeedbackBounceSoft, channels.FeedbackBounceSoft}, []string{"jane@example.com", "richard@example.com"}},
		{"complaint", sns(t, complaint), []channels.FeedbackKind{channels.FeedbackComplaint}, []string{"mary@example.com"}},
		{"not-spam complaint", sns(t, notSpam), nil, nil},
		{"delivery", sns(t, delivery), []channels.FeedbackKind{channels.FeedbackDelivered}, []string{"jane@example.com"}},
		{"open", []byte(open), []channels.FeedbackKind{channels.FeedbackOpened}, []string{"jane@example.com"}},
		{"click", []byte(click), []channels.FeedbackKind{channels.FeedbackClicked}, []string{"jane@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fbs, sub, err := ParseSES(tc.body)
			require.NoError(t, err)
			require.Nil(t, sub)
			var kinds []channels.FeedbackKind
			var addrs []string
			for _, f := range fbs {
				kinds = append(kinds, f.Kind)
				addrs = append(addrs, f.Address)
				require.Equal(t, "ses", f.Provider)
				require.Equal(t, channels.Email, f.Channel)
				require.False(t, f.At.IsZero())
			}
			require.Equal(t, tc.kinds, kinds)
			require.Equal(t, tc.addrs, addrs)
		})
	}
	fbs, _, err := ParseSES(sns(t, sesBounce))
	require.NoError(t, err)
	require.Equal(t, "tact.abc@coffee.example.com", fbs[0].ProviderMessageID)
	require.Equal(t, "ik1_abc", fbs[0].IdempotencyKey)
	require.Equal(t, "Permanent/General", fbs[0].Detail)
	require.Equal(t, time.Date(2016, 1, 27, 14, 59, 38, 237e6, time.UTC), fbs[0].At)
	fbs, _, _ = ParseSES([]byte(click))
	require.Equal(t, "https://coffee.example.com/menu", fbs[0].URL)

	_, sub, err := ParseSES([]byte(`{"Type":"SubscriptionConfirmation","TopicArn":"arn:aws:sns:us-west-2:123456789012:MyTopic","SubscribeURL":"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=x"}`))
	require.NoError(t, err)
	require.Equal(t, "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=x", sub.SubscribeURL)
	_, _, err = ParseSES([]byte(`{"hello":1}`))
	require.ErrorIs(t, err, ErrNotFeedback)
	_, _, err = ParseSES([]byte(`not json`))
	require.ErrorIs(t, err, ErrNotFeedback)
}

const dsn = "From: MAILER-DAEMON@mx.example.net\r\n" +
	"To: bounces@coffee.example.com\r\n" +
	"Date: Sat, 01 Mar 2025 10:00:00 +0000\r\n" +
	"Subject: Undelivered Mail Returned to Sender\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n" +
	"\r\n" +
	"--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n" +
	"--B\r\nContent-Type: message/delivery-status\r\n\r\n" +
	"Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Sat, 01 Mar 2025 09:59:00 +0000\r\n\r\n" +
	"Final-Recipient: rfc822; Gone@Example.net\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n" +
	"Final-Recipient: rfc822; full@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n" +
	"Final-Recipient: rfc822; slow@example.net\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n" +
	"Final-Recipient: rfc822; ok@example.net\r\nAction: delivered\r\nStatus: 2.0.0\r\n" +
	"--B\r\nContent-Type: text/rfc822-headers\r\n\r\n" +
	"From: hello@coffee.example.com\r\nMessage-ID: <tact.xyz@coffee.example.com>\r\nX-Tact-Key: ik1_xyz\r\n\r\n" +
	"--B--\r\n"

const arf = "From: fbl@isp.example\r\nDate: Sat, 01 Mar 2025 11:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n" +
	"--F\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report\r\n" +
	"--F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n\r\n" +
	"--F\r\nContent-Type: message/rfc822\r\n\r\nFrom: hello@coffee.example.com\r\nTo: Angry <angry@example.net>\r\nMessage-ID: <tact.m@coffee.example.com>\r\n\r\nbody\r\n" +
	"--F--\r\n"

func TestParseReport(t *testing.T) {
	t.Parallel()
	fbs, err := ParseReport(strings.NewReader(dsn), time.Time{})
	require.NoError(t, err)
	require.Len(t, fbs, 3)
	want := []struct {
		kind channels.FeedbackKind
		addr string
	}{{channels.FeedbackBounceHard, "gone@example.net"}, {channels.FeedbackBounceSoft, "full@example.net"}, {channels.FeedbackDelivered, "ok@example.net"}}
	for i, w := range want {
		require.Equal(t, w.kind, fbs[i].Kind)
		require.Equal(t, w.addr, fbs[i].Address)
		require.Equal(t, "tact.xyz@coffee.example.com", fbs[i].ProviderMessageID)
		require.Equal(t, "ik1_xyz", fbs[i].IdempotencyKey)
		require.Equal(t, time.Date(2025, 3, 1, 9, 59, 0, 0, time.UTC), fbs[i].At.UTC())
	}
	fbs, err = ParseReport(strings.NewReader(arf), time.Time{})
	require.NoError(t, err)
	require.Len(t, fbs, 1)
	require.Equal(t, channels.FeedbackComplaint, fbs[0].Kind)
	require.Equal(t, "angry@example.net", fbs[0].Address)
	require.Equal(t, "tact.m@coffee.example.com", fbs[0].ProviderMessageID)

	_, err = ParseReport(strings.NewReader("Subject: hi\r\n\r\nbody"), time.Time{})
	require.ErrorIs(t, err, ErrNotFeedback)
}
