package engine

import (
	"bufio"
	"fmt"
	"strings"
)

// parseSQLBlocks splits a .sql file into named blocks. A block starts with a
// line "-- name: NAME" and runs to the next such line, listmonk style.
// Comment lines are dropped, so they may mention format verbs.
func parseSQLBlocks(src string) (map[string]string, error) {
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
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			name = strings.TrimSpace(rest)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue // comments document the block; they are not sent
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
