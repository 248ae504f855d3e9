package server

import (
	"net/http"
	"strconv"
	"strings"
)

// Languages of the public pages.
const (
	langEN = "en"
	langTH = "th"
)

// pickLang chooses the page language: ?lang= (or the form's lang) first,
// then Accept-Language by quality, then English.
func pickLang(r *http.Request) string {
	if l := normLang(r.URL.Query().Get("lang")); l != "" {
		return l
	}
	if r.Form != nil {
		if l := normLang(r.Form.Get("lang")); l != "" {
			return l
		}
	}
	best, bestQ := langEN, -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := normLang(tag); l != "" && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

func normLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	switch {
	case tag == "th" || strings.HasPrefix(tag, "th-"):
		return langTH
	case tag == "en" || strings.HasPrefix(tag, "en-"):
		return langEN
	}
	return ""
}

// messages are the page texts by language.
var messages = map[string]map[string]string{
	langEN: {
		"title":              "Your communication preferences",
		"intro":              "Choose what we may contact you about, and how. You can change your mind at any time; a change takes effect for the very next message.",
		"saved":              "Your choices are saved.",
		"yes":                "Yes",
		"no":                 "No",
		"state_on":           "Currently: on",
		"state_off":          "Currently: off",
		"save":               "Save my choices",
		"withdraw_all":       "Stop all marketing messages",
		"withdraw_all_help":  "One click turns off every purpose below on every channel.",
		"download_title":     "Download your data",
		"download_intro":     "We will send a confirmation code to your address on file. Enter it here to download everything we hold about you, as a JSON file.",
		"send_code":          "Send me a code",
		"code_sent":          "We have sent a code to your address on file. It is valid for 15 minutes.",
		"code_label":         "Confirmation code",
		"download":           "Download my data",
		"code_wrong":         "That code is not right or has expired. Ask for a new one.",
		"no_code_channel":    "Downloads are not available for this account. Please contact us.",
		"unsub_title":        "Unsubscribe",
		"unsub_confirm":      "Stop receiving %s by %s?",
		"unsub_button":       "Unsubscribe",
		"unsub_done":         "You are unsubscribed. You will not receive %s by %s any more.",
		"unsub_prefs":        "Manage all your preferences",
		"error_title":        "This link cannot be used",
		"error_invalid":      "The link is not valid. Please use the link from your most recent message.",
		"error_expired":      "The link has expired. Please use the link from your most recent message.",
		"error_gone":         "We no longer hold any data about you.",
		"error_generic":      "Something went wrong. Please try again later.",
		"error_rate":         "Too many attempts. Please wait a minute and try again.",
		"language":           "Language",
		"ch.email":           "Email",
		"ch.sms":             "Text messages (SMS)",
		"ch.push":            "App notifications",
		"ch.line":            "LINE messages",
		"ch.webhook":         "Partner systems",
		"p.marketing":        "Offers and news",
		"pd.marketing":       "Promotions, new products and newsletters.",
		"p.analytics":        "Understanding how our services are used",
		"pd.analytics":       "Measuring which messages and pages are useful, so we can improve them.",
		"p.personalisation":  "Recommendations for you",
		"pd.personalisation": "Choosing what to show you based on what you have done with us.",
		"p.transactional":    "Service messages",
		"pd.transactional":   "Receipts, security and account messages.",
		"legend":             "%s by %s",
	},
	langTH: {
		"title":              "การตั้งค่าการติดต่อของคุณ",
		"intro":              "เลือกว่าเราจะติดต่อคุณเรื่องใดและผ่านช่องทางใด คุณเปลี่ยนใจได้ทุกเมื่อ และการเปลี่ยนแปลงจะมีผลตั้งแต่ข้อความถัดไป",
		"saved":              "บันทึกตัวเลือกของคุณแล้ว",
		"yes":                "ยินยอม",
		"no":                 "ไม่ยินยอม",
		"state_on":           "สถานะปัจจุบัน: เปิด",
		"state_off":          "สถานะปัจจุบัน: ปิด",
		"save":               "บันทึกตัวเลือก",
		"withdraw_all":       "หยุดรับข้อความการตลาดทั้งหมด",
		"withdraw_all_help":  "คลิกเดียวเพื่อปิดทุกวัตถุประสงค์ด้านล่างในทุกช่องทาง",
		"download_title":     "ดาวน์โหลดข้อมูลของคุณ",
		"download_intro":     "เราจะส่งรหัสยืนยันไปยังที่อยู่ที่เรามีอยู่ กรอกรหัสที่นี่เพื่อดาวน์โหลดข้อมูลทั้งหมดที่เราเก็บเกี่ยวกับคุณเป็นไฟล์ JSON",
		"send_code":          "ส่งรหัสให้ฉัน",
		"code_sent":          "เราได้ส่งรหัสไปยังที่อยู่ของคุณแล้ว รหัสมีอายุ 15 นาที",
		"code_label":         "รหัสยืนยัน",
		"download":           "ดาวน์โหลดข้อมูลของฉัน",
		"code_wrong":         "รหัสไม่ถูกต้องหรือหมดอายุแล้ว โปรดขอรหัสใหม่",
		"no_code_channel":    "บัญชีนี้ไม่สามารถดาวน์โหลดข้อมูลได้ โปรดติดต่อเรา",
		"unsub_title":        "ยกเลิกการรับข่าวสาร",
		"unsub_confirm":      "หยุดรับ%sทาง%sใช่หรือไม่",
		"unsub_button":       "ยกเลิกการรับ",
		"unsub_done":         "ยกเลิกเรียบร้อยแล้ว คุณจะไม่ได้รับ%sทาง%sอีก",
		"unsub_prefs":        "จัดการการตั้งค่าทั้งหมด",
		"error_title":        "ไม่สามารถใช้ลิงก์นี้ได้",
		"error_invalid":      "ลิงก์ไม่ถูกต้อง โปรดใช้ลิงก์จากข้อความล่าสุดของคุณ",
		"error_expired":      "ลิงก์หมดอายุแล้ว โปรดใช้ลิงก์จากข้อความล่าสุดของคุณ",
		"error_gone":         "เราไม่ได้เก็บข้อมูลของคุณแล้ว",
		"error_generic":      "เกิดข้อผิดพลาด โปรดลองใหม่ภายหลัง",
		"error_rate":         "มีการพยายามมากเกินไป โปรดรอสักครู่แล้วลองใหม่",
		"language":           "ภาษา",
		"ch.email":           "อีเมล",
		"ch.sms":             "ข้อความ SMS",
		"ch.push":            "การแจ้งเตือนในแอป",
		"ch.line":            "ข้อความทาง LINE",
		"ch.webhook":         "ระบบของพันธมิตร",
		"p.marketing":        "ข้อเสนอและข่าวสาร",
		"pd.marketing":       "โปรโมชั่น สินค้าใหม่ และจดหมายข่าว",
		"p.analytics":        "การทำความเข้าใจการใช้บริการ",
		"pd.analytics":       "วัดผลว่าข้อความและหน้าใดมีประโยชน์ เพื่อปรับปรุงให้ดีขึ้น",
		"p.personalisation":  "คำแนะนำสำหรับคุณ",
		"pd.personalisation": "เลือกสิ่งที่จะแสดงให้คุณตามสิ่งที่คุณเคยทำกับเรา",
		"p.transactional":    "ข้อความเกี่ยวกับบริการ",
		"pd.transactional":   "ใบเสร็จ ความปลอดภัย และข้อความเกี่ยวกับบัญชี",
		"legend":             "%s ทาง%s",
	},
}

// T returns the text for key in lang, falling back to English, then key.
func T(lang, key string) string {
	if m, ok := messages[lang]; ok {
		if v, ok := m[key]; ok {
			return v
		}
	}
	if v, ok := messages[langEN][key]; ok {
		return v
	}
	return key
}
