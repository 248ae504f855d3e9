package templates

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// Set is a loaded templates directory, immutable after loading.
type Set struct {
	byName map[string]*Template
}

// Load reads the templates directory dir (see the package documentation).
func Load(dir string) (*Set, error) {
	return LoadFS(os.DirFS(dir))
}

// LoadFS reads templates from the root of fsys. All problems are reported
// together, each as an *Error.
func LoadFS(fsys fs.FS) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	type files struct {
		channel          string
		html, txt        string
		htmlSrc, textSrc string
	}
	found := map[string]*files{}
	var errs []error
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
			continue
		}
		parts := strings.Split(n, ".")
		if len(parts) != 3 {
			continue
		}
		name, channel, ext := parts[0], parts[1], parts[2]
		switch channel {
		case ChannelEmail, ChannelSMS, ChannelPush, ChannelLine:
		default:
			errs = append(errs, &Error{Template: name, File: n, Kind: ErrChannel, Detail: fmt.Sprintf("unknown channel %q (want email, sms, push or line)", channel)})
			continue
		}
		if ext != FileExt(channel) && (channel != ChannelEmail || ext != "txt") {
			errs = append(errs, &Error{Template: name, File: n, Kind: ErrSyntax, Detail: fmt.Sprintf("unexpected extension .%s for %s", ext, channel)})
			continue
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("templates: %w", err))
			continue
		}
		f := found[name]
		if f == nil {
			f = &files{channel: channel}
			found[name] = f
		} else if f.channel != channel {
			errs = append(errs, &Error{Template: name, File: n, Kind: ErrChannel, Detail: "the name is already used by a " + f.channel + " template"})
			continue
		}
		if ext == "html" {
			f.html, f.htmlSrc = n, string(b)
		} else {
			f.txt, f.textSrc = n, string(b)
		}
	}
	s := &Set{byName: map[string]*Template{}}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f := found[name]
		var t *Template
		var err error
		if f.html != "" {
			t, err = New(name, f.channel, f.html, f.htmlSrc, true, f.txt, f.textSrc)
		} else {
			t, err = New(name, f.channel, f.txt, f.textSrc, false, "", "")
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.byName[name] = t
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// NewSet builds a set from already built templates (tests, embedding).
func NewSet(ts ...*Template) (*Set, error) {
	s := &Set{byName: map[string]*Template{}}
	for _, t := range ts {
		if _, dup := s.byName[t.Name]; dup {
			return nil, &Error{Template: t.Name, Kind: ErrSyntax, Detail: "duplicate template name"}
		}
		s.byName[t.Name] = t
	}
	return s, nil
}

// Lookup returns the named template.
func (s *Set) Lookup(name string) (*Template, error) {
	if s != nil {
		if t, ok := s.byName[name]; ok {
			return t, nil
		}
	}
	return nil, &Error{Template: name, Kind: ErrUnknownTemplate}
}

// Names lists the templates, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Validate validates every template against f (see Template.Validate).
func (s *Set) Validate(f Fields) error {
	var errs []error
	for _, n := range s.Names() {
		if err := s.byName[n].Validate(f); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Render renders the named template, checking that it targets channel.
func (s *Set) Render(name, channel string, d Data) (*Rendered, error) {
	t, err := s.Lookup(name)
	if err != nil {
		return nil, err
	}
	if channel != "" && t.Channel != channel {
		return nil, &Error{Template: name, Kind: ErrChannel, Detail: fmt.Sprintf("template is for %s, not %s", t.Channel, channel)}
	}
	return t.Render(d)
}

// FileName returns the main file name for a template name and channel.
func FileName(name, channel string) string {
	return path.Join(name + "." + channel + "." + FileExt(channel))
}

// FileExt is the extension of a channel's main template file: html for
// email, json for line, txt otherwise.
func FileExt(channel string) string {
	switch channel {
	case ChannelEmail:
		return "html"
	case ChannelLine:
		return "json"
	}
	return "txt"
}
