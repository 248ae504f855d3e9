// Package sqlblock reads named SQL blocks from a .sql file, listmonk style:
// a block starts with a line "-- name: NAME" and runs to the next such line.
// Comment lines are dropped (so they may mention format verbs); the body is
// trimmed. Packages keep their SQL in embedded .sql files and look blocks up
// by name.
package sqlblock

import (
	"bufio"
	"fmt"
	"strings"
)

// Parse splits src into its named blocks. A name defined twice is an error.
func Parse(src string) (map[string]string, error) {
	blocks := map[string]string{}
	var name string
	var body strings.Builder
	flush := func() error {
		if name == "" {
			return nil
		}
		if _, dup := blocks[name]; dup {
			return fmt.Errorf("sql block %q defined twice", name)
		}
		blocks[name] = strings.TrimSpace(body.String())
		body.Reset()
		return nil
	}
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name = strings.TrimSpace(rest)
			continue
		}
		if strings.HasPrefix(t, "--") {
			continue
		}
		if name != "" {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return blocks, sc.Err()
}
