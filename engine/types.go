package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TraitType is the DuckDB column type of a trait.
type TraitType string

// Trait types.
const (
	TypeString      TraitType = "VARCHAR"
	TypeInt         TraitType = "BIGINT"
	TypeFloat       TraitType = "DOUBLE"
	TypeBool        TraitType = "BOOLEAN"
	TypeTimestamp   TraitType = "TIMESTAMP"
	TypeStringList  TraitType = "VARCHAR[]"
	TypeIntList     TraitType = "BIGINT[]"
	TypeFloatList   TraitType = "DOUBLE[]"
	TypeBoolList    TraitType = "BOOLEAN[]"
	typeUnknown     TraitType = ""
	typeUnknownList TraitType = "?[]"
)

// IsList reports whether t is a list type.
func (t TraitType) IsList() bool { return strings.HasSuffix(string(t), "[]") }

// Elem is the element type of a list type.
func (t TraitType) Elem() TraitType { return TraitType(strings.TrimSuffix(string(t), "[]")) }

// Trait is one typed profile attribute.
type Trait struct {
	Name string    `json:"name"`
	Type TraitType `json:"type"`
}

// reservedNames cannot be trait names: system columns (SystemNames, added
// by isReservedName), and the names the expression language gives to its
// own functions and operators.
var reservedNames = map[string]bool{ //nolint:gochecknoglobals // read-only after initialisation
	"events": true,
	"now":    true, "ago": true, "days_since": true, "consented": true, "in_segment": true, "bucket": true,
	"true": true, "false": true, "nil": true, "not": true, "and": true, "or": true, "in": true,
	"matches": true, "contains": true, "startswith": true, "endswith": true, "let": true, "if": true, "else": true,
	"len": true, "all": true, "none": true, "any": true, "one": true, "filter": true, "map": true, "count": true,
	"sum": true, "max": true, "min": true, "mean": true, "median": true, "abs": true, "ceil": true, "floor": true,
	"round": true, "int": true, "float": true, "string": true, "trim": true, "upper": true, "lower": true,
	"split": true, "join": true, "type": true, "keys": true, "values": true, "first": true, "last": true,
	"date": true, "duration": true, "find": true, "sort": true, "sortby": true, "reduce": true, "groupby": true,
	"flatten": true, "uniq": true, "concat": true, "repeat": true, "indexof": true, "lastindexof": true,
	"hasprefix": true, "hassuffix": true, "tojson": true, "fromjson": true, "toBase64": true, "frombase64": true,
	"tobase64": true, "timezone_offset": true, "reverse": true, "get": true, "bitand": true, "bitor": true,
}

var traitNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// normaliseColumnName maps an input column or key to a trait name: trimmed,
// lower-cased, runs of other characters turned into "_".
func normaliseColumnName(raw string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(strings.TrimSpace(raw)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
			underscore = false
		} else if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	return strings.Trim(b.String(), "_")
}

// checkTraitName explains why name cannot be a trait, or returns nil.
func checkTraitName(name string) error {
	if !traitNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a valid trait name (start with a letter; letters, digits and _ only; at most 63 characters)", name)
	}
	if reservedNames[name] || slices.Contains(SystemNames(), name) {
		return fmt.Errorf("%q is reserved and cannot be a trait name", name)
	}
	return nil
}

// classify infers the narrowest type of one present cell.
func classify(c cell) TraitType {
	switch c.kind {
	case cellText:
		return classifyText(c.text)
	case cellJSON:
		return classifyJSON(c.raw)
	}
	return classifyValue(c.val)
}

func classifyText(s string) TraitType {
	switch strings.ToLower(s) {
	case "true", "false":
		return TypeBool
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return TypeInt
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && looksNumeric(s) {
		return TypeFloat
	}
	if _, ok := parseTime(s); ok {
		return TypeTimestamp
	}
	return TypeString
}

// looksNumeric rules out strings ParseFloat accepts that people do not
// mean as numbers ("inf", "0x1p3", "1_000").
func looksNumeric(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r == '.' || r == '-' || r == '+' || r == 'e' || r == 'E') {
			return false
		}
	}
	return true
}

func classifyJSON(raw json.RawMessage) TraitType {
	switch raw[0] {
	case 't', 'f':
		return TypeBool
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		if _, ok := parseTime(s); ok {
			return TypeTimestamp
		}
		return TypeString
	case '{':
		return TypeString
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return TypeString
		}
		elem := typeUnknown
		for _, it := range items {
			if bytes.Equal(it, []byte("null")) {
				continue
			}
			et := classifyJSON(it)
			if et.IsList() {
				return TypeString
			}
			if et == TypeTimestamp {
				et = TypeString // lists of timestamps are kept as text
			}
			elem = widen(elem, et)
		}
		if elem == typeUnknown {
			return typeUnknownList
		}
		return elem + "[]"
	}
	if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return TypeInt
	}
	return TypeFloat
}

func classifyValue(v any) TraitType {
	switch x := v.(type) {
	case bool:
		return TypeBool
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return TypeInt
	case float32, float64:
		return TypeFloat
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return TypeInt
		}
		return TypeFloat
	case time.Time:
		return TypeTimestamp
	case string:
		if _, ok := parseTime(x); ok {
			return TypeTimestamp
		}
		return TypeString
	case []any:
		elem := typeUnknown
		for _, it := range x {
			if it == nil {
				continue
			}
			et := classifyValue(it)
			if et.IsList() || et == TypeTimestamp {
				et = TypeString
			}
			elem = widen(elem, et)
		}
		if elem == typeUnknown {
			return typeUnknownList
		}
		return elem + "[]"
	}
	return TypeString
}

// widen combines the types of two cells of one column.
func widen(a, b TraitType) TraitType {
	switch {
	case a == typeUnknown:
		return b
	case b == typeUnknown || a == b:
		return a
	case a == typeUnknownList && b.IsList():
		return b
	case b == typeUnknownList && a.IsList():
		return a
	case (a == TypeInt && b == TypeFloat) || (a == TypeFloat && b == TypeInt):
		return TypeFloat
	case a.IsList() && b.IsList():
		return widen(a.Elem(), b.Elem()) + "[]"
	}
	return TypeString
}

// fits reports whether a cell of inferred type got can be stored in a
// trait of type want.
func fits(got, want TraitType) bool {
	switch {
	case got == want, want == TypeString && !got.IsList():
		return true
	case got == TypeInt && want == TypeFloat:
		return true
	case got == typeUnknownList && want.IsList():
		return true
	case got.IsList() && want.IsList():
		return fits(got.Elem(), want.Elem()) && (want.Elem() != TypeString || got.Elem() == TypeString)
	}
	return false
}

// convert turns a present cell into the Go value the Appender stores in a
// column of type t. The cell has been checked to fit.
func convert(c cell, t TraitType) (any, error) {
	switch t {
	case TypeString:
		if s, ok := cellString(c); ok {
			return s, nil
		}
		if c.kind == cellJSON {
			return string(c.raw), nil
		}
		b, err := json.Marshal(c.val)
		return string(b), err
	case TypeInt:
		s, _ := cellString(c)
		return strconv.ParseInt(s, 10, 64)
	case TypeFloat:
		if f, ok := c.val.(float64); ok && c.kind == cellTyped {
			return f, nil
		}
		s, _ := cellString(c)
		return strconv.ParseFloat(s, 64)
	case TypeBool:
		if b, ok := c.val.(bool); ok && c.kind == cellTyped {
			return b, nil
		}
		s, _ := cellString(c)
		return strconv.ParseBool(strings.ToLower(s))
	case TypeTimestamp:
		return cellTime(c)
	}
	if t.IsList() {
		items, err := listItems(c)
		if err != nil {
			return nil, err
		}
		return convertList(items, t.Elem())
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

func listItems(c cell) ([]cell, error) {
	switch c.kind {
	case cellJSON:
		var raws []json.RawMessage
		if err := json.Unmarshal(c.raw, &raws); err != nil {
			return nil, err
		}
		out := make([]cell, len(raws))
		for i, r := range raws {
			out[i] = cell{present: !bytes.Equal(r, []byte("null")), raw: r, kind: cellJSON}
		}
		return out, nil
	case cellTyped:
		vals, ok := c.val.([]any)
		if !ok {
			return nil, fmt.Errorf("not a list")
		}
		out := make([]cell, len(vals))
		for i, v := range vals {
			out[i] = cell{present: v != nil, val: v, kind: cellTyped}
		}
		return out, nil
	}
	return nil, fmt.Errorf("not a list")
}

func convertList(items []cell, elem TraitType) (any, error) {
	switch elem {
	case TypeString:
		out := make([]string, 0, len(items))
		for _, it := range items {
			if !it.present {
				continue
			}
			v, err := convert(it, TypeString)
			if err != nil {
				return nil, err
			}
			out = append(out, v.(string))
		}
		return out, nil
	case TypeInt:
		out := make([]int64, 0, len(items))
		for _, it := range items {
			if it.present {
				v, err := convert(it, TypeInt)
				if err != nil {
					return nil, err
				}
				out = append(out, v.(int64))
			}
		}
		return out, nil
	case TypeFloat:
		out := make([]float64, 0, len(items))
		for _, it := range items {
			if it.present {
				v, err := convert(it, TypeFloat)
				if err != nil {
					return nil, err
				}
				out = append(out, v.(float64))
			}
		}
		return out, nil
	case TypeBool:
		out := make([]bool, 0, len(items))
		for _, it := range items {
			if it.present {
				v, err := convert(it, TypeBool)
				if err != nil {
					return nil, err
				}
				out = append(out, v.(bool))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported list element type %s", elem)
}

func describeType(t TraitType) string {
	switch t {
	case TypeInt:
		return "an integer"
	case TypeFloat:
		return "a number"
	case TypeBool:
		return "a boolean"
	case TypeTimestamp:
		return "an RFC 3339 timestamp or date"
	case TypeString:
		return "a string"
	}
	if t.IsList() {
		return "a list of " + string(t.Elem())
	}
	return string(t)
}
