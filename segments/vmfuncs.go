package segments

import (
	"math"
	"math/bits"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm/runtime"
)

// The VM's helpers: two-valued operators and nil-safe builtins, the Go
// twins of the SQL the compiler writes.

func safeBool(f func() bool) (b bool) {
	defer func() {
		if recover() != nil {
			b = false
		}
	}()
	return f()
}

func safeAny(f func() any) (v any) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return f()
}

func cmpHelper(f func(a, b any) bool) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		a, b := p[0], p[1]
		if a == nil || b == nil {
			return false, nil
		}
		if !comparable(a, b) {
			return false, nil
		}
		return safeBool(func() bool { return f(a, b) }), nil
	}
}

// equal is expr's == made total: nil equals only nil, values of
// different kinds are unequal.
func equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return safeBool(func() bool { return runtime.Equal(a, b) })
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, float64:
		return true
	}
	return false
}

func comparable(a, b any) bool {
	if isNumber(a) && isNumber(b) {
		return true
	}
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case time.Time:
		_, ok := b.(time.Time)
		return ok
	}
	return false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	}
	return 0, false
}

func arith(op string) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		a, b := p[0], p[1]
		if a == nil || b == nil {
			return nil, nil
		}
		if ai, ok := asInt(a); ok {
			if bi, ok := asInt(b); ok {
				switch op {
				case "+":
					r := ai + bi
					if (r > ai) != (bi > 0) {
						return nil, nil
					}
					return r, nil
				case "-":
					r := ai - bi
					if (r < ai) != (bi > 0) {
						return nil, nil
					}
					return r, nil
				case "*":
					hi, lo := bits.Mul64(uint64(abs64(ai)), uint64(abs64(bi)))
					if hi != 0 || lo > math.MaxInt64 || ai == math.MinInt64 || bi == math.MinInt64 {
						return nil, nil
					}
					return ai * bi, nil
				case "%":
					if bi == 0 {
						return nil, nil
					}
					if bi == -1 {
						return 0, nil
					}
					return ai % bi, nil
				}
			}
		}
		if isNumber(a) && isNumber(b) {
			x, y := toFloat(a), toFloat(b)
			switch op {
			case "+":
				return x + y, nil
			case "-":
				return x - y, nil
			case "*":
				return x * y, nil
			case "/":
				if y == 0 {
					return nil, nil
				}
				return x / y, nil
			case "**":
				return math.Pow(x, y), nil
			}
			return nil, nil
		}
		switch op {
		case "+":
			if as, ok := a.(string); ok {
				if bs, ok := b.(string); ok {
					return as + bs, nil
				}
			}
			return safeAny(func() any { return runtime.Add(a, b) }), nil
		case "-":
			return safeAny(func() any { return runtime.Subtract(a, b) }), nil
		}
		return nil, nil
	}
}

func abs64(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func strHelper(f func(a, b string) bool) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		a, ok1 := p[0].(string)
		b, ok2 := p[1].(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		return f(a, b), nil
	}
}

// regexCache holds the patterns one compiled program has met. A pattern
// may come from a trait value, so the cache is bounded: past
// maxCachedPatterns further patterns are compiled on each use.
type regexCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

const maxCachedPatterns = 1024

func (c *regexCache) matches(a, b string) bool {
	c.mu.Lock()
	re, ok := c.m[b]
	c.mu.Unlock()
	if !ok {
		r, err := regexp.Compile(b)
		if err != nil {
			return false
		}
		re = r
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*regexp.Regexp{}
		}
		if len(c.m) < maxCachedPatterns {
			c.m[b] = r
		}
		c.mu.Unlock()
	}
	return re.MatchString(a)
}

func flatten(p []any) []any {
	if len(p) == 1 {
		if p[0] == nil {
			return nil
		}
		v := reflect.ValueOf(p[0])
		if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
			out := make([]any, v.Len())
			for i := range out {
				out[i] = normValue(v.Index(i).Interface())
			}
			return out
		}
	}
	return p
}

// extreme is max/min over numbers (or, failing those, timestamps); other
// values, nil included, are ignored, and nothing to compare gives nil — the
// SQL side's max/min over typed values, where the rest is NULL.
func extreme(max bool) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		var best any
		for _, v := range flatten(p) {
			_, isTime := v.(time.Time)
			if !isNumber(v) && !isTime {
				continue
			}
			if best == nil {
				best = v
				continue
			}
			if !comparable(best, v) {
				continue
			}
			if max && safeBool(func() bool { return runtime.More(v, best) }) {
				best = v
			}
			if !max && safeBool(func() bool { return runtime.Less(v, best) }) {
				best = v
			}
		}
		return best, nil
	}
}

func vmFunctions() []expr.Option {
	cmp2 := new(func(any, any) bool)
	val2 := new(func(any, any) any)
	val1 := new(func(any) any)
	vari := new(func(...any) any)
	opts := []expr.Option{
		expr.Function("_lt", cmpHelper(func(a, b any) bool { return runtime.Less(a, b) }), cmp2),
		expr.Function("_le", cmpHelper(func(a, b any) bool { return runtime.LessOrEqual(a, b) }), cmp2),
		expr.Function("_gt", cmpHelper(func(a, b any) bool { return runtime.More(a, b) }), cmp2),
		expr.Function("_ge", cmpHelper(func(a, b any) bool { return runtime.MoreOrEqual(a, b) }), cmp2),
		expr.Function("_add", arith("+"), val2),
		expr.Function("_sub", arith("-"), val2),
		expr.Function("_mul", arith("*"), val2),
		expr.Function("_div", arith("/"), val2),
		expr.Function("_mod", arith("%"), val2),
		expr.Function("_pow", arith("**"), val2),
		expr.Function("_contains", strHelper(strings.Contains), cmp2),
		expr.Function("_startsWith", strHelper(strings.HasPrefix), cmp2),
		expr.Function("_endsWith", strHelper(strings.HasSuffix), cmp2),
		expr.Function("_matches", strHelper(new(regexCache).matches), cmp2),
		expr.Function("_in", func(p ...any) (any, error) {
			if p[1] == nil {
				return false, nil
			}
			return safeBool(func() bool { return runtime.In(p[0], p[1]) }), nil
		}, cmp2),
		expr.Function("_eq", func(p ...any) (any, error) { return equal(p[0], p[1]), nil }, cmp2),
		expr.Function("_ne", func(p ...any) (any, error) { return !equal(p[0], p[1]), nil }, cmp2),
		expr.Function("_fetch", func(p ...any) (any, error) { return fetch(p[0], p[1]), nil }, new(func(any, any) any)),
		expr.Function("_truth", func(p ...any) (any, error) { return p[0] == true, nil }, new(func(any) bool)),
		expr.Function("_neg", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case int:
				if x == math.MinInt64 {
					return nil, nil
				}
				return -x, nil
			case float64:
				return -x, nil
			}
			return nil, nil
		}, val1),
		expr.Function("_days", func(p ...any) (any, error) {
			now, ok1 := p[0].(time.Time)
			t, ok2 := p[1].(time.Time)
			if !ok1 || !ok2 {
				return nil, nil
			}
			return daysBetween(t, now), nil
		}, new(func(any, any) any)),
		expr.Function("_lower", strFn(strings.ToLower), val1),
		expr.Function("_upper", strFn(strings.ToUpper), val1),
		expr.Function("_trim", strFn(func(s string) string { return strings.Trim(s, trimChars) }), val1),
		expr.Function("_len", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case nil:
				return nil, nil
			case string:
				return utf8.RuneCountInString(x), nil
			}
			v := reflect.ValueOf(p[0])
			switch v.Kind() {
			case reflect.Slice, reflect.Array, reflect.Map:
				return v.Len(), nil
			}
			return nil, nil
		}, val1),
		expr.Function("_abs", numFn(func(i int) any {
			if i == math.MinInt64 {
				return nil
			}
			return abs64(i)
		}, func(f float64) any { return math.Abs(f) }), val1),
		expr.Function("_ceil", numFn(func(i int) any { return i }, func(f float64) any { return math.Ceil(f) }), val1),
		expr.Function("_floor", numFn(func(i int) any { return i }, func(f float64) any { return math.Floor(f) }), val1),
		expr.Function("_round", numFn(func(i int) any { return i }, func(f float64) any { return math.Round(f) }), val1),
		expr.Function("_int", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case int:
				return x, nil
			case float64:
				t := math.Trunc(x)
				if math.IsNaN(t) || t >= 9.223372036854775807e18 || t < -9.223372036854775808e18 {
					return nil, nil
				}
				return int(t), nil
			case string:
				i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
				if err != nil {
					return nil, nil
				}
				return int(i), nil
			}
			return nil, nil
		}, val1),
		expr.Function("_float", func(p ...any) (any, error) {
			switch x := p[0].(type) {
			case int:
				return float64(x), nil
			case float64:
				return x, nil
			case string:
				f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
				if err != nil {
					return nil, nil
				}
				return f, nil
			}
			return nil, nil
		}, val1),
		expr.Function("_max", extreme(true), vari),
		expr.Function("_min", extreme(false), vari),
		expr.Function("_mean", func(p ...any) (any, error) {
			var sum float64
			n := 0
			for _, v := range flatten(p) {
				if isNumber(v) {
					sum += toFloat(v)
					n++
				}
			}
			if n == 0 {
				return nil, nil
			}
			return sum / float64(n), nil
		}, vari),
		expr.Function("_sum", func(p ...any) (any, error) {
			isum, fsum, float := 0, 0.0, false
			for _, v := range flatten(p) {
				switch x := v.(type) {
				case int:
					isum += x
				case float64:
					fsum += x
					float = true
				}
			}
			if float {
				return fsum + float64(isum), nil
			}
			return isum, nil
		}, vari),
	}
	return opts
}

// fetch reads key from a JSON value: a member of an object, an element of
// an array (negative indexes count from the end); anything else is nil.
func fetch(v, key any) any {
	switch x := v.(type) {
	case map[string]any:
		if k, ok := key.(string); ok {
			return x[k]
		}
	case []any:
		if i, ok := asInt(key); ok {
			if i < 0 {
				i += len(x)
			}
			if i >= 0 && i < len(x) {
				return x[i]
			}
		}
	}
	return nil
}

func strFn(f func(string) string) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		s, ok := p[0].(string)
		if !ok {
			return nil, nil
		}
		return f(s), nil
	}
}

func numFn(fi func(int) any, ff func(float64) any) func(params ...any) (any, error) {
	return func(p ...any) (any, error) {
		switch x := p[0].(type) {
		case int:
			return fi(x), nil
		case float64:
			return ff(x), nil
		}
		return nil, nil
	}
}
