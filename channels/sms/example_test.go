package sms_test

import (
	"fmt"

	"github.com/tactcdp/tact/channels/sms"
)

func ExampleCountSegments() {
	for _, body := range []string{
		"Your code is 123456",
		"Price: 100€ [limited]", // € [ ] take two septets each
		"สวัสดีค่ะ ลด 30% วันนี้เท่านั้น! ใช้โค้ด THAI30 ที่สาขาใกล้คุณ ตอบ STOP เพื่อยกเลิก",
	} {
		s := sms.CountSegments(body)
		fmt.Printf("%s chars=%d units=%d segments=%d\n", s.Encoding, s.Characters, s.Units, s.Segments)
	}
	// Output:
	// GSM-7 chars=19 units=19 segments=1
	// GSM-7 chars=21 units=24 segments=1
	// UCS-2 chars=83 units=83 segments=2
}
