package server

import (
	"fmt"
	"html"
	"strings"

	"github.com/tactcdp/tact/segments"
)

// Server-rendered SVG charts. Every text written into SVG goes through
// esc; numbers are formatted here. The results are trusted HTML.

func esc(s string) string { return html.EscapeString(s) }

// barPart is one coloured part of a stacked bar.
type barPart struct {
	Key   string
	N     int64
	Class string
}

// removalBar draws the segment as one bar: the audience, then each removal
// reason in the order they are applied, with a legend.
func removalBar(lang string, c segments.Counts) string {
	parts := []barPart{{"c.audience", c.Count, "b-aud"}}
	if c.Removed != nil {
		rm := c.Removed
		parts = append(parts,
			barPart{"c.r_restricted", rm.Restricted, "b-res"},
			barPart{"c.r_objected", rm.Objected, "b-obj"},
			barPart{"c.r_no_consent", rm.NoConsent, "b-noc"},
			barPart{"c.r_unreachable", rm.Unreachable, "b-unr"},
			barPart{"c.r_suppressed", rm.Suppressed, "b-sup"})
	}
	const w, h = 640.0, 28.0
	total := c.Segment
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar" role="img" viewBox="0 0 %g %g" width="100%%" aria-labelledby="bar-title">`, w, h+24*float64((len(parts)+1)/2)+8)
	fmt.Fprintf(&b, `<title id="bar-title">%s</title>`, esc(fmt.Sprintf("%s: %s / %s", T(lang, "c.audience"), formatInt(c.Count), formatInt(total))))
	x := 0.0
	if total == 0 {
		fmt.Fprintf(&b, `<rect class="b-empty" x="0" y="0" width="%g" height="%g"/>`, w, h)
	}
	for _, p := range parts {
		if total == 0 || p.N == 0 {
			continue
		}
		pw := w * float64(p.N) / float64(total)
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="0" width="%.1f" height="%g"><title>%s: %s</title></rect>`, p.Class, x, pw, h, esc(T(lang, p.Key)), formatInt(p.N))
		x += pw
	}
	for i, p := range parts {
		lx, ly := float64(i%2)*w/2, h+20+24*float64(i/2)
		fmt.Fprintf(&b, `<rect class="%s" x="%g" y="%g" width="14" height="14"/><text x="%g" y="%g">%s: %s</text>`,
			p.Class, lx, ly-12, lx+20, ly, esc(T(lang, p.Key)), formatInt(p.N))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// sizeChart draws a saved segment's size after each computation as a
// small line chart.
func sizeChart(lang string, pts []sizePoint) string {
	if len(pts) == 0 {
		return ""
	}
	const w, h, pad = 480.0, 120.0, 24.0
	var max int64 = 1
	for _, p := range pts {
		if p.Members > max {
			max = p.Members
		}
	}
	xOf := func(i int) float64 {
		if len(pts) == 1 {
			return w / 2
		}
		return pad + (w-2*pad)*float64(i)/float64(len(pts)-1)
	}
	yOf := func(n int64) float64 { return h - pad - (h-2*pad)*float64(n)/float64(max) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %g %g" width="%g" aria-label="%s">`, w, h, w, esc(T(lang, "c.size_history")))
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, pad, h-pad, w-pad, h-pad)
	var path strings.Builder
	for i, p := range pts {
		if i == 0 {
			path.WriteString("M")
		} else {
			path.WriteString(" L")
		}
		fmt.Fprintf(&path, "%.1f %.1f", xOf(i), yOf(p.Members))
	}
	fmt.Fprintf(&b, `<path class="line" d="%s"/>`, path.String())
	for i, p := range pts {
		fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="3"><title>#%d: %s</title></circle>`, xOf(i), yOf(p.Members), p.Computation, formatInt(p.Members))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text><text x="%g" y="%g" text-anchor="end">%s</text>`,
		pad, pad-8, formatInt(max), w-pad, h-6, esc(fmt.Sprintf("#%d", pts[len(pts)-1].Computation)))
	b.WriteString(`</svg>`)
	return b.String()
}

// series is one line of a daily chart.
type series struct {
	Key    string
	Class  string
	Points []int64
}

// dailyChart draws several series over days as grouped bars.
func dailyChart(lang, label string, days []string, ss []series) string {
	if len(days) == 0 {
		return ""
	}
	const w, h, pad = 720.0, 200.0, 30.0
	var max int64 = 1
	for _, s := range ss {
		for _, v := range s.Points {
			if v > max {
				max = v
			}
		}
	}
	slot := (w - 2*pad) / float64(len(days))
	bw := slot * 0.8 / float64(len(ss))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" viewBox="0 0 %g %g" width="100%%" aria-label="%s">`, w, h+24, esc(label))
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&b, `<text x="2" y="%g">%s</text>`, pad-6, formatInt(max))
	for d, day := range days {
		x0 := pad + slot*float64(d) + slot*0.1
		for i, s := range ss {
			v := s.Points[d]
			bh := (h - 2*pad) * float64(v) / float64(max)
			fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %s</title></rect>`,
				s.Class, x0+bw*float64(i), h-pad-bh, bw, bh, esc(day), esc(T(lang, s.Key)), formatInt(v))
		}
		if len(days) <= 14 || d%(len(days)/7+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle" class="small">%s</text>`, x0+slot*0.4, h-pad+14, esc(day[5:]))
		}
	}
	for i, s := range ss {
		lx := pad + float64(i)*150
		fmt.Fprintf(&b, `<rect class="%s" x="%g" y="%g" width="12" height="12"/><text x="%g" y="%g">%s</text>`, s.Class, lx, h+4, lx+16, h+15, esc(T(lang, s.Key)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}
