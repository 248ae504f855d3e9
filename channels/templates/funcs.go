package templates

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// funcMap returns the helpers bound to loc (dates render in loc).
func funcMap(loc *time.Location) map[string]any {
	return map[string]any{
		"default":  dflt,
		"number":   number,
		"decimal":  decimal,
		"currency": currency,
		"date":     func(layout string, v any) (string, error) { return formatDate(layout, v, loc) },
		"upper":    func(v any) string { return strings.ToUpper(str(v)) },
		"lower":    func(v any) string { return strings.ToLower(str(v)) },
		"trim":     func(v any) string { return strings.TrimSpace(str(v)) },
		"truncate": truncate,
		"_nv":      noValue,
		"_js":      jsonString,
	}
}

// noValue is appended to text/template actions so that nil prints as "".
func noValue(v any) any {
	if v == nil {
		return ""
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func empty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func dflt(def, v any) any {
	if empty(v) {
		return def
	}
	return v
}

func toFloat(v any) (float64, bool, error) {
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case int:
		return float64(x), true, nil
	case int8:
		return float64(x), true, nil
	case int16:
		return float64(x), true, nil
	case int32:
		return float64(x), true, nil
	case int64:
		return float64(x), true, nil
	case uint:
		return float64(x), true, nil
	case uint8:
		return float64(x), true, nil
	case uint16:
		return float64(x), true, nil
	case uint32:
		return float64(x), true, nil
	case uint64:
		return float64(x), true, nil
	case float32:
		return float64(x), true, nil
	case float64:
		return x, true, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false, fmt.Errorf("not a number: %q", x)
		}
		return f, true, nil
	}
	return 0, false, fmt.Errorf("not a number: %T", v)
}

func isIntegral(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// group formats f with n decimals and "," thousands separators.
func group(f float64, n int) string {
	s := strconv.FormatFloat(math.Abs(f), 'f', n, 64)
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	if f < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	b.WriteString(frac)
	return b.String()
}

func number(v any) (string, error) {
	if i, ok := v.(int64); ok {
		return group(float64(i), 0), nil
	}
	f, ok, err := toFloat(v)
	if err != nil || !ok {
		return "", err
	}
	if isIntegral(v) {
		return group(f, 0), nil
	}
	return group(f, 2), nil
}

func decimal(n int, v any) (string, error) {
	f, ok, err := toFloat(v)
	if err != nil || !ok {
		return "", err
	}
	if n < 0 || n > 10 {
		return "", fmt.Errorf("decimal: %d places out of range", n)
	}
	return group(f, n), nil
}

var currencies = map[string]struct { //nolint:gochecknoglobals // read-only after initialisation
	symbol   string
	decimals int
}{
	"THB": {"฿", 2}, "USD": {"$", 2}, "EUR": {"€", 2}, "GBP": {"£", 2},
	"JPY": {"¥", 0}, "SGD": {"S$", 2}, "AUD": {"A$", 2}, "INR": {"₹", 2},
}

func currency(code string, v any) (string, error) {
	f, ok, err := toFloat(v)
	if err != nil || !ok {
		return "", err
	}
	code = strings.ToUpper(code)
	c, known := currencies[code]
	if !known {
		return code + " " + group(f, 2), nil
	}
	s := group(f, c.decimals)
	if strings.HasPrefix(s, "-") {
		return "-" + c.symbol + s[1:], nil
	}
	return c.symbol + s, nil
}

var namedLayouts = map[string]string{ //nolint:gochecknoglobals // read-only after initialisation
	"date":     "2 Jan 2006",
	"datetime": "2 Jan 2006 15:04",
	"time":     "15:04",
	"iso":      time.RFC3339,
}

func toTime(v any) (time.Time, bool, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return x, !x.IsZero(), nil
	case *time.Time:
		if x == nil {
			return time.Time{}, false, nil
		}
		return *x, true, nil
	case string:
		if x == "" {
			return time.Time{}, false, nil
		}
		for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
			if t, err := time.Parse(l, x); err == nil {
				return t, true, nil
			}
		}
		return time.Time{}, false, fmt.Errorf("not a date: %q", x)
	case int64, int, float64:
		f, _, _ := toFloat(x)
		return time.Unix(int64(f), 0), true, nil
	}
	return time.Time{}, false, fmt.Errorf("not a date: %T", v)
}

func formatDate(layout string, v any, loc *time.Location) (string, error) {
	t, ok, err := toTime(v)
	if err != nil || !ok {
		return "", err
	}
	if l, ok := namedLayouts[layout]; ok {
		layout = l
	}
	// A bare date (YYYY-MM-DD) is a calendar day, not an instant: keep it.
	if s, isStr := v.(string); isStr && len(s) == len(time.DateOnly) {
		return t.Format(layout), nil
	}
	return t.In(loc).Format(layout), nil
}

func truncate(n int, v any) string {
	s := str(v)
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	k := n - 1
	// Never separate a base character from its combining marks (Thai vowels
	// and tone marks are separate code points).
	for k > 0 && unicode.Is(unicode.Mn, r[k]) {
		k--
	}
	return strings.TrimRightFunc(string(r[:k]), unicode.IsSpace) + "…"
}
