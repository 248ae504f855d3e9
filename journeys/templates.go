package journeys

import (
	"github.com/tactcdp/tact/channels/templates"
)

// LoadTemplates loads template directories into one set (a later directory
// may not redefine a name).
func LoadTemplates(dirs ...string) (*templates.Set, error) {
	var all []*templates.Template
	for _, d := range dirs {
		s, err := templates.Load(d)
		if err != nil {
			return nil, err
		}
		for _, n := range s.Names() {
			t, err := s.Lookup(n)
			if err != nil {
				return nil, err
			}
			all = append(all, t)
		}
	}
	return templates.NewSet(all...)
}
