package line

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tactcdp/tact/channels"
	"github.com/tactcdp/tact/channels/templates"
)

// Name is the channel name ("line"), as used in the consent ledger and
// returned by Adapter.Name.
const Name = "line"

// DefaultBaseURL is the Messaging API origin.
const DefaultBaseURL = "https://api.line.me"

// MaxMulticast is the most user ids one multicast request carries.
const MaxMulticast = 500

// Config configures the LINE adapter. Zero values take the documented
// defaults.
type Config struct {
	// ChannelAccessToken authenticates every call (Authorization: Bearer).
	// Required. It is never logged nor put into an error.
	ChannelAccessToken string
	// ProviderID is the LINE provider the channel belongs to. A LINE user id
	// is only meaningful within one provider; the engine keys line_user_id
	// identities by it. Required.
	ProviderID string
	// BaseURL is the API origin. Default DefaultBaseURL (tests point it at
	// a loopback server).
	BaseURL string
	// Templates renders NAME.line.json templates. Required.
	Templates *templates.Set
	// Concurrency is the number of requests in flight. Default 4.
	Concurrency int
	// RatePerSecond limits requests per second across push and multicast
	// (0 = unlimited; LINE allows about 2,000 push and 200 multicast
	// requests per second per channel).
	RatePerSecond float64
	// MaxAttempts is the number of attempts of one request when LINE
	// answers 429 (rate limit), 5xx or the network fails. The retry key is
	// the same on every attempt, so a retry never duplicates. Default 3.
	MaxAttempts int
	// Backoff is the wait before the second attempt, doubled for each
	// further one, unless the answer carries Retry-After. Default 500ms.
	Backoff time.Duration
	// MaxBackoff caps one wait; a longer Retry-After ends the attempts with
	// a transient result carrying it. Default 30s.
	MaxBackoff time.Duration
	// Timeout bounds one HTTP request. Default 30s. Ignored with HTTPClient.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a client with Timeout over
	// NewTransport(Concurrency).
	HTTPClient *http.Client
	// QuotaResetZone is the zone whose calendar month the monthly message
	// quota follows. Default Asia/Tokyo (see ResetTime).
	QuotaResetZone *time.Location
	// QuotaProbeInterval is how often a paused channel asks the quota
	// endpoints again when the quota is still exhausted after the reset.
	// Default 1h.
	QuotaProbeInterval time.Duration
	// NotificationDisabled sends without a push notification on the phone.
	// Default false.
	NotificationDisabled bool
	// Gate is called immediately before each provider call, once per
	// recipient (nil = allow).
	Gate channels.Gate
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits between attempts and in the rate limiter. Default
	// channels.SleepContext.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Adapter sends LINE messages through the Messaging API. It implements
// channels.Channel and is safe for concurrent use.
type Adapter struct {
	cfg     Config
	base    string
	limiter *channels.Limiter
	quota   quota
	calls   atomic.Int64
}

var _ channels.Channel = (*Adapter)(nil)

// New checks cfg and returns the adapter.
func New(cfg Config) (*Adapter, error) {
	switch {
	case cfg.ChannelAccessToken == "":
		return nil, errors.New("line: channel access token is required")
	case cfg.ProviderID == "":
		return nil, errors.New("line: provider id is required")
	case cfg.Templates == nil:
		return nil, errors.New("line: Templates is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout, Transport: NewTransport(cfg.Concurrency)}
	}
	if cfg.QuotaResetZone == nil {
		loc, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			loc = time.FixedZone("JST", 9*3600) // Japan has no DST
		}
		cfg.QuotaResetZone = loc
	}
	if cfg.QuotaProbeInterval <= 0 {
		cfg.QuotaProbeInterval = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = channels.SleepContext
	}
	return &Adapter{
		cfg:     cfg,
		base:    strings.TrimRight(cfg.BaseURL, "/"),
		limiter: channels.NewLimiter(channels.LimiterConfig{PerSecond: cfg.RatePerSecond, Now: cfg.Now, Sleep: cfg.Sleep}),
	}, nil
}

// NewTransport is http.DefaultTransport keeping enough idle connections
// for n requests in flight to one host (the default keeps two, so more
// concurrent requests would open and close a connection each time).
func NewTransport(n int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(n, 2)
	return t
}

// Name returns "line".
func (a *Adapter) Name() string { return Name }

// ProviderID returns the configured LINE provider id.
func (a *Adapter) ProviderID() string { return a.cfg.ProviderID }

// Calls returns how many requests the adapter has made to the Messaging API
// (sends, retries and quota reads), for metrics.
func (a *Adapter) Calls() int64 { return a.calls.Load() }

var userIDRE = regexp.MustCompile(`^U[0-9a-f]{32}$`)

// ValidUserID reports whether s has the form of a LINE user id ("U" and 32
// lower-case hex digits).
func ValidUserID(s string) bool { return userIDRE.MatchString(s) }

// Render renders the messages of m (exported for previews): the compact
// JSON array of LINE message objects.
func (a *Adapter) Render(m channels.Message) ([]byte, error) {
	r, err := a.cfg.Templates.Render(m.Template, templates.ChannelLine, m.TemplateData(a.cfg.Now()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", channels.ErrRender, err)
	}
	return r.Messages, nil
}

// job is one provider call: a push to one person or a multicast to up to
// MaxMulticast people with the same rendered messages.
type job struct {
	members   []int // indexes into the batch
	messages  []byte
	retryKey  string
	multicast bool // a chunk of a group of two or more (even of one member)
}

// Send renders each message and sends the batch: messages whose rendered
// content is identical are grouped into multicast calls of at most
// MaxMulticast recipients, the others go by push. It returns one Result per
// Message, in order. While the monthly quota is exhausted it makes no call
// and returns transient results (see State).
func (a *Adapter) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	out := make([]channels.Result, len(batch))
	if res, paused := a.pausedResult(ctx); paused {
		for i := range out {
			out[i] = res
		}
		return out
	}
	groups := map[string][]int{}
	var order []string
	for i, m := range batch {
		to := strings.TrimSpace(m.To)
		switch {
		case to == "":
			out[i] = channels.Permanent("invalid_address", channels.ErrNoAddress)
			continue
		case !ValidUserID(to):
			out[i] = channels.Permanent("invalid_address", channels.ErrInvalidAddress)
			continue
		}
		msgs, err := a.Render(m)
		if err != nil {
			out[i] = channels.Permanent("render", err)
			continue
		}
		k := string(msgs)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	jobs := make([]job, 0, len(order))
	for _, k := range order {
		jobs = append(jobs, planGroup(batch, groups[k], []byte(k))...)
	}
	a.run(ctx, batch, jobs, out)
	return out
}

// planGroup splits the messages of one content group into calls. Members
// are ordered by idempotency key before chunking, so the same set of
// messages always gives the same chunks and the same retry keys, whatever
// their order in the batch.
func planGroup(batch []channels.Message, members []int, msgs []byte) []job {
	if len(members) == 1 {
		return []job{{members: members, messages: msgs, retryKey: PushRetryKey(batch[members[0]].IdempotencyKey)}}
	}
	sort.SliceStable(members, func(x, y int) bool {
		return batch[members[x]].IdempotencyKey < batch[members[y]].IdempotencyKey
	})
	var out []job
	for start := 0; start < len(members); start += MaxMulticast {
		chunk := members[start:min(start+MaxMulticast, len(members))]
		keys := make([]string, len(chunk))
		for j, i := range chunk {
			keys[j] = batch[i].IdempotencyKey
		}
		out = append(out, job{members: chunk, messages: msgs, retryKey: MulticastRetryKey(keys), multicast: true})
	}
	return out
}

// run executes the jobs, at most Concurrency at a time.
func (a *Adapter) run(ctx context.Context, batch []channels.Message, jobs []job, out []channels.Result) {
	slots := make(chan struct{}, a.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			a.runJob(ctx, batch, j, out)
		}()
	}
	wg.Wait()
}

func (a *Adapter) runJob(ctx context.Context, batch []channels.Message, j job, out []channels.Result) {
	setAll := func(members []int, r channels.Result) {
		for _, i := range members {
			out[i] = r
		}
	}
	if err := ctx.Err(); err != nil {
		setAll(j.members, channels.Transient("context", err))
		return
	}
	if res, paused := a.pausedResult(ctx); paused {
		setAll(j.members, res)
		return
	}
	if err := a.limiter.Wait(ctx); err != nil {
		setAll(j.members, channels.Transient("context", err))
		return
	}
	// The gate runs right before the call; a refused person is left out
	// of the call (the retry key stays that of the planned chunk).
	to := make([]string, 0, len(j.members))
	sending := make([]int, 0, len(j.members))
	for _, i := range j.members {
		if res, ok := channels.CheckGate(ctx, a.cfg.Gate, Name, batch[i]); !ok {
			out[i] = res
			continue
		}
		to = append(to, strings.TrimSpace(batch[i].To))
		sending = append(sending, i)
	}
	if len(sending) == 0 {
		return
	}
	var o outcome
	if j.multicast {
		o = a.call(ctx, pathMulticast, multicastBody(to, j.messages, a.cfg.NotificationDisabled), j.retryKey)
	} else {
		o = a.call(ctx, pathPush, pushBody(to[0], j.messages, a.cfg.NotificationDisabled), j.retryKey)
	}
	res := o.result()
	if o.quotaExhausted {
		res.RetryAfter = a.pause(ctx).Sub(a.cfg.Now())
	}
	setAll(sending, res)
}
