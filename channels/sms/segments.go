package sms

import "unicode/utf8"

// Encoding of an SMS body.
type Encoding string

// SMS encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segment limits (3GPP TS 23.040): a single message carries 160 GSM-7
// septets or 70 UCS-2 code units; concatenated parts lose 7 septets / 3
// code units to the user data header.
const (
	GSM7Single = 160
	GSM7Part   = 153
	UCS2Single = 70
	UCS2Part   = 67
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtended characters take an escape plus one septet.
const gsmExtended = "\f^{}\\[~]|€"

var gsmWidth = func() map[rune]int { //nolint:gochecknoglobals // read-only after initialisation
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtended {
		m[r] = 2
	}
	return m
}()

// SegmentInfo describes how a body is split for sending.
type SegmentInfo struct {
	Encoding Encoding
	// Characters is the number of Unicode code points.
	Characters int
	// Units is the total size in septets (GSM-7) or UTF-16 code units (UCS-2).
	Units int
	// Segments is the number of SMS parts billed (0 for an empty body).
	Segments int
	// PerSegment is the capacity of each part (160/153 or 70/67).
	PerSegment int
	// Remaining is how many units still fit in the last part.
	Remaining int
}

// IsGSM7 reports whether s can be sent in the GSM-7 alphabet.
func IsGSM7(s string) bool {
	for _, r := range s {
		if gsmWidth[r] == 0 {
			return false
		}
	}
	return true
}

// CountSegments computes the encoding and number of parts of body. A
// character is never split across parts: a GSM-7 escape pair or a UTF-16
// surrogate pair that would straddle a boundary moves to the next part.
func CountSegments(body string) SegmentInfo {
	info := SegmentInfo{Characters: utf8.RuneCountInString(body)}
	widths := make([]int, 0, len(body))
	if IsGSM7(body) {
		info.Encoding = GSM7
		for _, r := range body {
			widths = append(widths, gsmWidth[r])
		}
		info.fill(widths, GSM7Single, GSM7Part)
		return info
	}
	info.Encoding = UCS2
	for _, r := range body {
		if r >= 0x10000 {
			widths = append(widths, 2)
		} else {
			widths = append(widths, 1)
		}
	}
	info.fill(widths, UCS2Single, UCS2Part)
	return info
}

func (info *SegmentInfo) fill(widths []int, single, part int) {
	for _, w := range widths {
		info.Units += w
	}
	switch {
	case info.Units == 0:
		info.PerSegment = single
		info.Remaining = single
	case info.Units <= single:
		info.Segments, info.PerSegment, info.Remaining = 1, single, single-info.Units
	default:
		info.PerSegment = part
		info.Segments = 1
		cur := 0
		for _, w := range widths {
			if cur+w > part {
				info.Segments++
				cur = 0
			}
			cur += w
		}
		info.Remaining = part - cur
	}
}
