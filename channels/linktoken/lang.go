package linktoken

import "strings"

const (
	// LangParam is the query parameter naming the page language. It is a
	// display choice, not an authority, so it sits outside the signed token:
	// the server checks it against the languages it has and otherwise
	// ignores it.
	LangParam = "lang"
	// LocaleTrait is the profile trait holding the person's language
	// ("th", "th-TH", "en_US"): links carry its language, and the pages fall
	// back to it when a link has none.
	LocaleTrait = "locale"
)

// Language is the lower-case primary language of a BCP 47 tag or a POSIX
// locale ("th-TH" and "th_TH.UTF-8" are "th"), or "" when tag does not start
// with one (two or three ASCII letters). It knows no list of languages:
// which ones a page supports is the server's decision.
func Language(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_.@"); i >= 0 {
		tag = tag[:i]
	}
	if len(tag) < 2 || len(tag) > 3 {
		return ""
	}
	for _, r := range tag {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return ""
		}
	}
	return strings.ToLower(tag)
}

// LocaleOf is the person's locale trait, "" when absent or not text.
func LocaleOf(traits map[string]any) string {
	s, _ := traits[LocaleTrait].(string)
	return s
}

// ForPerson is l with links in the language of the person's locale trait
// (none when the trait is absent or unreadable).
func (l Links) ForPerson(traits map[string]any) Links {
	l.Lang = Language(LocaleOf(traits))
	return l
}
