package email

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tactcdp/tact/channels"
)

// TestComposeBackToBack: people composed one after the other and
// concurrently on one Config (run with -race) each get their own message,
// equal to the golden file or to a composition on a fresh Config: nothing
// sized or remembered from one message (render buffers, constant parts)
// carries a person's content into the next.
func TestComposeBackToBack(t *testing.T) {
	t.Parallel()
	cfg, msgs := goldenMessages(t)
	golden, err := os.ReadFile(filepath.Join("testdata", "compose", "welcome.eml"))
	require.NoError(t, err)
	other := welcome("ann-kathrin.longname@example.org", 123456789)
	other.ToName = "Ann-Kathrin Longname"
	other.Traits = map[string]any{"first_name": "Ann-Kathrin", "loyalty_tier": "gold", "locale": "en"}
	short := welcome("b@example.org", 8)
	short.ToName, short.Traits = "", map[string]any{}
	people := []channels.Message{msgs["welcome"], other, short, msgs["receipt"]}

	want := make([][]byte, len(people))
	for i, m := range people {
		fresh, _ := goldenMessages(t)
		c, err := Compose(&fresh, m)
		require.NoError(t, err)
		want[i] = c.Raw
	}
	require.Equal(t, string(golden), string(want[0]))
	for i := range want[1:] {
		require.NotEqual(t, string(want[0]), string(want[i+1]))
	}

	for range 3 {
		for i, m := range people {
			c, err := Compose(&cfg, m)
			require.NoError(t, err)
			require.Equal(t, string(want[i]), string(c.Raw), "person %d", i)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 40 {
				i := (g + n) % len(people)
				c, err := Compose(&cfg, people[i])
				if err != nil {
					t.Errorf("goroutine %d, person %d: %v", g, i, err)
					return
				}
				if string(c.Raw) != string(want[i]) {
					t.Errorf("goroutine %d, person %d: got\n%s", g, i, c.Raw)
					return
				}
			}
		}()
	}
	wg.Wait()
}
