package sample

import (
	"math"
	"math/bits"
)

func (g *generator) userID(num int) string {
	b := append(make([]byte, 0, 8), 'u')
	return string(appendPadded(b, num, g.idWidth))
}

func (g *generator) anonID(j int) string {
	k := g.keys[saltAnon]
	b := append(make([]byte, 0, 40), 'a', '-')
	return string(appendUUIDish(b, mix64(k+uint64(j)), mix64(mix64(k^0x5851f42d4c957f2d)+uint64(j))))
}

func (g *generator) deviceToken(i int) string {
	k := g.keys[saltDevice]
	b := append(make([]byte, 0, 40), "dt_"...)
	b = appendHex64(b, mix64(k+uint64(i)))
	return string(appendHex64(b, mix64(mix64(k^0x5851f42d4c957f2d)+uint64(i))))
}

// lineUserID is the LINE user id of customer i ("" for one who does not
// follow the account): most Thai customers and a few others follow it.
// Drawn from the index alone, so no other decision moves.
func (g *generator) lineUserID(i int, country string) string {
	share := 0.05
	if country == "TH" {
		share = 0.45
	}
	if g.unit(i, saltLINE) >= share {
		return ""
	}
	k := g.keys[saltLINEID]
	b := append(make([]byte, 0, 33), 'U')
	b = appendHex64(b, mix64(k+uint64(i)))
	return string(appendHex64(b, mix64(mix64(k^0x5851f42d4c957f2d)+uint64(i))))
}

// phone returns the national significant number for numbering index idx in
// plan pl. The index goes through a keyed permutation of [0, pl.space), so
// distinct indexes below pl.space give distinct, unrelated-looking numbers.
func (g *generator) phone(pl *phonePlan, idx int) string {
	v := permute(uint64(idx), pl.space, g.keys[saltPhone])
	unit := uint64(math.Pow10(pl.digits))
	b := make([]byte, 0, 16)
	b = append(b, pl.prefixes[v/unit]...)
	return string(appendPadded(b, int(v%unit), pl.digits))
}

// permute is a keyed bijection of [0, n) (x < n): a bijection of the
// enclosing power-of-two range, applied until the value falls back inside
// [0, n) (cycle walking).
func permute(x, n, key uint64) uint64 {
	k := uint(bits.Len64(n - 1))
	mask := uint64(1)<<k - 1
	h := (k + 1) / 2
	for {
		x ^= x >> h
		x = (x * 0x9e3779b97f4a7c15) & mask
		x = (x + key) & mask
		x ^= x >> h
		x = (x * 0xbf58476d1ce4e5b9) & mask
		x ^= x >> h
		if x < n {
			return x
		}
	}
}

func planOf(c *country, z *zone) *phonePlan {
	if z.phone != nil {
		return z.phone
	}
	return c.phone
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// plans are the subscription tiers, cheapest first.
func plans() [4]string { return [...]string{"free", "basic", "pro", "enterprise"} }
