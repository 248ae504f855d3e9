package linktoken

import (
	"net/url"
	"strings"
)

// TestParam marks an inert link: one in a test send, which the server
// answers with a page saying that it changes nothing.
const TestParam = "test"

// InertUnsubscribe is the unsubscribe URL of a test send: no token, so it
// can act for nobody.
func (l Links) InertUnsubscribe() string {
	return l.inert(l.UnsubscribePath, DefaultUnsubscribePath)
}

// InertPreferences is the preference-centre URL of a test send.
func (l Links) InertPreferences() string {
	return l.inert(l.PreferencesPath, DefaultPreferencesPath)
}

func (l Links) inert(path, def string) string {
	if path == "" {
		path = def
	}
	q := url.Values{TestParam: {"1"}}
	if lang := Language(l.Lang); lang != "" {
		q.Set(LangParam, lang)
	}
	return strings.TrimRight(l.BaseURL, "/") + path + "?" + q.Encode()
}
