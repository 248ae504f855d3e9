package duration_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/engine/duration"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"30d", 30 * duration.Day},
		{"1w", duration.Week},
		{"1w2d", 9 * duration.Day},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"45s", 45 * time.Second},
		{"0.5d", 12 * time.Hour},
		{"1.5h", 90 * time.Minute},
		{" 36h ", 36 * time.Hour},
		{"0s", 0},
		{"2w3d4h5m6s", 2*duration.Week + 3*duration.Day + 4*time.Hour + 5*time.Minute + 6*time.Second},
	} {
		got, err := duration.Parse(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func TestParseErrorsNameThePosition(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in  string
		pos int
		msg string
	}{
		{"", 1, "empty"},
		{"   ", 4, "empty"},
		{"30", 3, "missing unit"},
		{"d", 1, "want a number"},
		{"-1d", 1, "positive"},
		{"+1d", 1, "positive"},
		{"3x", 2, "unknown unit"},
		{"1w2x", 4, "unknown unit"},
		{"1d 2h", 3, "want a number"},
		{"1d1d", 4, "twice"},
		{"1.d", 2, "decimal point"},
		{"1y", 2, "unknown unit"},
		{"abc", 1, "want a number"},
		{"300ms", 5, "want a number"},
		{"99999999999999999999d", 1, "too long"},
		{"106752d", 1, "too long"},
		{"15250w15250w", 12, "twice"},
		{"15000w15000d", 7, "too long"},
		{" 2q", 3, "unknown unit"},
		{"éd", 1, "want a number"},
		{"1dé", 3, "want a number"},
	} {
		_, err := duration.Parse(c.in)
		var de *duration.Error
		require.True(t, errors.As(err, &de), "%q: %v", c.in, err)
		require.Equal(t, c.pos, de.Pos, "%q: %v", c.in, err)
		require.Contains(t, de.Msg, c.msg, c.in)
		require.Equal(t, c.in, de.Input)
	}
}

func TestYears(t *testing.T) {
	t.Parallel()
	d, err := duration.Syntax{Years: true}.Parse("1y2w")
	require.NoError(t, err)
	require.Equal(t, duration.Year+2*duration.Week, d)
	_, err = duration.Syntax{Years: true}.Parse("1q")
	require.ErrorContains(t, err, "s, m, h, d, w or y")
}

// FuzzParse: nothing panics, errors are *Error with a position inside the
// input, and a successful parse is non-negative, ignores surrounding space
// and means the same with years enabled.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"30d", "1w2d", "1h30m", "0.5d", "", "-1d", "1d1d", "99999999999999999999d", "1.d", "éd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := duration.Parse(s)
		if err != nil {
			var de *duration.Error
			require.True(t, errors.As(err, &de), "%q: %v", s, err)
			require.GreaterOrEqual(t, de.Pos, 1)
			require.LessOrEqual(t, de.Pos, len([]rune(s))+1)
			return
		}
		require.GreaterOrEqual(t, d, time.Duration(0))
		padded, err := duration.Parse(" " + s + " ")
		require.NoError(t, err, s)
		require.Equal(t, d, padded, s)
		years, err := duration.Syntax{Years: true}.Parse(s)
		require.NoError(t, err, s)
		require.Equal(t, d, years, s)
	})
}
