package templates

import (
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"time"

	"go.yaml.in/yaml/v3"
)

// Channels a template can target.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPush  = "push"
	// ChannelLine templates are NAME.line.json: front matter, then a JSON
	// array of LINE message objects (see line.go).
	ChannelLine = "line"
)

// FrontMatter is the YAML header of a template's main file.
type FrontMatter struct {
	Purpose     string `yaml:"purpose"`
	Description string `yaml:"description"`
	Subject     string `yaml:"subject"`
	Preheader   string `yaml:"preheader"`
	FromName    string `yaml:"from_name"`
	Title       string `yaml:"title"`
	URL         string `yaml:"url"`
	Icon        string `yaml:"icon"`
}

// Template is one parsed template. It is immutable and safe for concurrent
// use.
type Template struct {
	Name    string
	Channel string
	FrontMatter

	// HTML is the HTML body source (email), Text the text body source (the
	// plain-text part of an email, the SMS or push body).
	HTML, Text         string
	htmlFile, textFile string
	// bodyLine is the number of file lines before the body (front matter).
	bodyLine int

	refs  []fieldRef
	cache sync.Map // zone name → *compiled
	// lastLINE is the last rendered LINE text that passed checkLINE.
	lastLINE atomic.Pointer[lineMemo]
}

// lineMemo pairs a rendered LINE text with its compact, checked form
// (shared read-only between results).
type lineMemo struct {
	text string
	msgs json.RawMessage
}

// Marketing reports whether the template needs marketing compliance.
func (t *Template) Marketing() bool { return t.Purpose != "transactional" }

// part names
const (
	partHTML      = "html"
	partText      = "text"
	partSubject   = "subject"
	partPreheader = "preheader"
	partTitle     = "title"
	partURL       = "url"
)

type compiled struct {
	// loc is the zone the functions were bound to; zone is its name as
	// rendering data (boxed once, not per message).
	loc  *time.Location
	zone any
	html *htmltemplate.Template
	// htmlSize is the length of the last HTML rendering: the next one's
	// buffer starts at that size instead of growing to it.
	htmlSize atomic.Int64
	parts    []*compiledPart
	// data holds rendering data maps for reuse (filled, executed,
	// cleared); empty is the read-only map absent traits or payload
	// render as.
	data  sync.Pool
	empty map[string]any
	// required are the fields printed without a default (requiredFields),
	// requiredPaths the same split at the dots.
	required      []string
	requiredPaths [][]string
}

// compiledPart is a text part (text body, subject, preheader, title, URL).
type compiledPart struct {
	name string
	tpl  *template.Template
	// constant is the part's output when it has no actions (a fixed
	// preheader): it is not executed for every message.
	constant   string
	isConstant bool
	// size is the length of the last rendering (see compiled.htmlSize).
	size atomic.Int64
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// splitFrontMatter separates "---\nYAML\n---\n" from the body.
func splitFrontMatter(src string) (fm string, body string, ok bool) {
	s := strings.TrimPrefix(src, "\ufeff")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.HasPrefix(s, "---\n") {
		return "", s, false
	}
	rest := s[4:]
	end := strings.Index(rest, "\n---\n")
	if end < 0 {
		if strings.HasSuffix(rest, "\n---") {
			return rest[:len(rest)-4], "", true
		}
		return "", s, false
	}
	return rest[:end], rest[end+5:], true
}

func parseFrontMatter(name, file, fm string) (FrontMatter, error) {
	var out FrontMatter
	dec := yaml.NewDecoder(strings.NewReader(fm))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil {
		return out, &Error{Template: name, File: file, Kind: ErrFrontMatter, Detail: err.Error()}
	}
	return out, nil
}

// New builds a template from sources (used by the loader; useful in tests).
// main is the main file's content including front matter; htmlMain tells
// whether main is the HTML part (email .html) or the text part. text is the
// optional plain-text companion of an HTML email.
func New(name, channel string, mainFile string, main string, htmlMain bool, textFile, text string) (*Template, error) {
	if !nameRE.MatchString(name) {
		return nil, &Error{Template: name, File: mainFile, Kind: ErrSyntax, Detail: "name must match [a-z0-9][a-z0-9_-]*"}
	}
	fmSrc, body, ok := splitFrontMatter(main)
	if !ok {
		return nil, &Error{Template: name, File: mainFile, Kind: ErrFrontMatter, Detail: "file must start with ---, YAML front matter and ---"}
	}
	fm, err := parseFrontMatter(name, mainFile, fmSrc)
	if err != nil {
		return nil, err
	}
	t := &Template{Name: name, Channel: channel, FrontMatter: fm}
	if htmlMain {
		t.HTML, t.htmlFile = body, mainFile
		if textFile != "" {
			if _, _, has := splitFrontMatter(text); has {
				return nil, &Error{Template: name, File: textFile, Kind: ErrFrontMatter, Detail: "a plain-text companion has no front matter"}
			}
			t.Text, t.textFile = strings.ReplaceAll(text, "\r\n", "\n"), textFile
		}
	} else {
		t.Text, t.textFile = body, mainFile
		t.bodyLine = strings.Count(fmSrc, "\n") + 3
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) errf(file string, kind error, format string, args ...any) *Error {
	return &Error{Template: t.Name, File: file, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// check validates structure: required front matter, syntax, the
// unsubscribe link of marketing email; and collects field references.
func (t *Template) check() error {
	mf := t.htmlFile
	if mf == "" {
		mf = t.textFile
	}
	if t.Purpose == "" {
		return t.errf(mf, ErrFrontMatter, "purpose is required")
	}
	switch t.Channel {
	case ChannelEmail:
		if strings.TrimSpace(t.Subject) == "" {
			return t.errf(mf, ErrFrontMatter, "subject is required for email")
		}
		if t.Title != "" || t.URL != "" || t.Icon != "" {
			return t.errf(mf, ErrFrontMatter, "title, url and icon are for push templates")
		}
	case ChannelLine:
		if t.Subject != "" || t.Preheader != "" || t.FromName != "" || t.Title != "" || t.URL != "" || t.Icon != "" {
			return t.errf(mf, ErrFrontMatter, "a line template's front matter has only purpose and description")
		}
	case ChannelPush:
		if strings.TrimSpace(t.Title) == "" {
			return t.errf(mf, ErrFrontMatter, "title is required for push")
		}
		fallthrough
	case ChannelSMS:
		if t.Subject != "" || t.Preheader != "" || t.FromName != "" {
			return t.errf(mf, ErrFrontMatter, "subject, preheader and from_name are for email templates")
		}
		if t.Channel == ChannelSMS && (t.Title != "" || t.URL != "" || t.Icon != "") {
			return t.errf(mf, ErrFrontMatter, "title, url and icon are for push templates")
		}
	default:
		return t.errf(mf, ErrChannel, "unknown channel %q", t.Channel)
	}
	if strings.TrimSpace(t.HTML) == "" && strings.TrimSpace(t.Text) == "" {
		return t.errf(mf, ErrSyntax, "empty body")
	}
	// Parse every part once (in UTC) to report syntax errors now and to
	// collect field references.
	var refs []fieldRef
	for _, p := range t.sources() {
		tree, err := template.New(p.name).Funcs(funcMap(time.UTC)).Parse(p.src)
		if err != nil {
			return t.errf(p.file, ErrSyntax, "%s: %v", p.name, err)
		}
		if p.name == partHTML {
			if _, err := htmltemplate.New(p.name).Funcs(funcMap(time.UTC)).Parse(p.src); err != nil {
				return t.errf(p.file, ErrSyntax, "%s: %v", p.name, err)
			}
		}
		refs = append(refs, collectRefs(p.name, p.file, tree)...)
	}
	t.refs = refs
	if t.Channel == ChannelEmail && t.Marketing() {
		if t.HTML != "" && !hasUnsubscribe(refs, partHTML, true) {
			return t.errf(t.htmlFile, ErrNoUnsubscribeLink, `marketing email needs <a href="{{ .unsubscribe_url }}"> in its HTML`)
		}
		if t.Text != "" && !hasUnsubscribe(refs, partText, false) {
			return t.errf(t.textFile, ErrNoUnsubscribeLink, "marketing email needs {{ .unsubscribe_url }} in its plain-text part")
		}
	}
	if t.Channel == ChannelLine {
		// Render with every value missing: the result must already be a
		// valid message array (placeholders only fill strings).
		if _, err := t.Render(Data{loadCheck: true}); err != nil {
			return err
		}
	}
	return nil
}

type source struct{ name, file, src string }

func (t *Template) sources() []source {
	mf := t.htmlFile
	if mf == "" {
		mf = t.textFile
	}
	var out []source
	add := func(name, file, src string) {
		if src != "" {
			out = append(out, source{name, file, src})
		}
	}
	add(partHTML, t.htmlFile, t.HTML)
	add(partText, t.textFile, t.Text)
	add(partSubject, mf, t.Subject)
	add(partPreheader, mf, t.Preheader)
	add(partTitle, mf, t.Title)
	add(partURL, mf, t.URL)
	return out
}

// compile returns the executable templates for a zone, compiling once.
func (t *Template) compile(loc *time.Location) (*compiled, error) {
	if c, ok := t.cache.Load(loc.String()); ok {
		return c.(*compiled), nil
	}
	fm := funcMap(loc)
	c := &compiled{loc: loc, zone: loc.String(), empty: map[string]any{}}
	c.data.New = func() any { return make(map[string]any, dataKeys) }
	for _, p := range t.sources() {
		if p.name == partHTML {
			h, err := htmltemplate.New(p.name).Funcs(fm).Option("missingkey=zero").Parse(p.src)
			if err != nil {
				return nil, t.errf(p.file, ErrSyntax, "%v", err)
			}
			c.html = h
			continue
		}
		tt, err := template.New(p.name).Funcs(fm).Option("missingkey=zero").Parse(p.src)
		if err != nil {
			return nil, t.errf(p.file, ErrSyntax, "%v", err)
		}
		escape := "_nv"
		if t.Channel == ChannelLine {
			escape = "_js"
		}
		if err := patchNoValue(tt, fm, escape); err != nil {
			return nil, err
		}
		part := &compiledPart{name: p.name, tpl: tt}
		part.constant, part.isConstant = constantText(tt)
		c.parts = append(c.parts, part)
	}
	var trees []*parse.Tree
	if c.html != nil {
		for _, h := range c.html.Templates() {
			trees = append(trees, h.Tree)
		}
	}
	for _, part := range c.parts {
		for _, x := range part.tpl.Templates() {
			trees = append(trees, x.Tree)
		}
	}
	c.required = requiredFields(trees)
	for _, f := range c.required {
		c.requiredPaths = append(c.requiredPaths, strings.Split(f, "."))
	}
	got, _ := t.cache.LoadOrStore(loc.String(), c)
	return got.(*compiled), nil
}

// compiledFor returns the compilation for d's zone. It is found by the zone
// name as given, so that a send does not load the zone's tzinfo file again
// (time.LoadLocation reads it from disk each time); an unknown zone renders
// in UTC as before and is not remembered under its own name.
func (t *Template) compiledFor(d Data) (*compiled, error) {
	if c, ok := t.cache.Load(d.Timezone); ok {
		return c.(*compiled), nil
	}
	loc := d.location()
	c, err := t.compile(loc)
	if err != nil {
		return nil, err
	}
	if d.Timezone == "" {
		t.cache.Store("", c)
	}
	return c, nil
}

// patchNoValue appends "| _nv" (or another escaping function, "_js" for
// LINE's JSON) to every printing action so that a nil value prints as ""
// instead of text/template's "<no value>".
func patchNoValue(t *template.Template, fm map[string]any, escape string) error {
	proto, err := template.New("nv").Funcs(fm).Parse("{{" + escape + "}}")
	if err != nil {
		return err
	}
	cmd := proto.Tree.Root.Nodes[0].(*parse.ActionNode).Pipe.Cmds[0]
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		walk(tt.Tree.Root, func(n parse.Node) {
			if a, ok := n.(*parse.ActionNode); ok && len(a.Pipe.Decl) == 0 {
				a.Pipe.Cmds = append(a.Pipe.Cmds, cmd.Copy().(*parse.CommandNode))
			}
		})
	}
	return nil
}

// constantText is t's output when its tree is text only (no actions, no
// other templates), and whether it is.
func constantText(t *template.Template) (string, bool) {
	if len(t.Templates()) != 1 || t.Tree == nil || t.Tree.Root == nil {
		return "", false
	}
	var b strings.Builder
	for _, n := range t.Tree.Root.Nodes {
		text, ok := n.(*parse.TextNode)
		if !ok {
			return "", false
		}
		b.Write(text.Text)
	}
	return b.String(), true
}

// walk visits every node of a tree (not descending into pipelines).
func walk(n parse.Node, f func(parse.Node)) {
	if n == nil {
		return
	}
	f(n)
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walk(c, f)
		}
	case *parse.IfNode:
		walk(x.List, f)
		if x.ElseList != nil {
			walk(x.ElseList, f)
		}
	case *parse.RangeNode:
		walk(x.List, f)
		if x.ElseList != nil {
			walk(x.ElseList, f)
		}
	case *parse.WithNode:
		walk(x.List, f)
		if x.ElseList != nil {
			walk(x.ElseList, f)
		}
	}
}

func execText(t *template.Template, data any) (string, error) {
	var b strings.Builder // String() without a copy
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// execTextSized is execText into a buffer of the last rendering's size,
// which it then updates.
func execTextSized(t *template.Template, data any, size *atomic.Int64) (string, error) {
	var b strings.Builder
	b.Grow(int(size.Load()))
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	size.Store(int64(b.Len()))
	return b.String(), nil
}
