package server

import (
	"github.com/tactcdp/tact/channels/email"
	"github.com/tactcdp/tact/channels/templates"
	"github.com/tactcdp/tact/engine/clock"
)

// CodeTemplate is the email template of preference-centre confirmation
// codes (transactional; Thai or English by the page language).
const CodeTemplate = "preference-code"

const codeTemplateSrc = `---
purpose: transactional
subject: '{{ if eq .payload.lang "th" }}รหัสยืนยันของคุณ{{ else }}Your confirmation code{{ end }}'
---
{{ if eq .payload.lang "th" }}รหัสยืนยันสำหรับดาวน์โหลดข้อมูลของคุณคือ {{ .payload.code }}
รหัสนี้ใช้ได้ 15 นาที หากคุณไม่ได้ขอรหัสนี้ โปรดเพิกเฉยต่ออีเมลฉบับนี้{{ else }}Your code to download your data is {{ .payload.code }}.
It is valid for 15 minutes. If you did not ask for it, ignore this email.{{ end }}
`

// CodeTemplates is a template set holding CodeTemplate, for an email
// channel dedicated to confirmation codes.
func CodeTemplates() (*templates.Set, error) {
	t, err := templates.New(CodeTemplate, "email", CodeTemplate+".email.txt", codeTemplateSrc, false, "", "")
	if err != nil {
		return nil, err
	}
	return templates.NewSet(t)
}

// NewFileCodeSender sends confirmation codes through the file email
// channel (each message written as an .eml file into dir), the zero-setup
// counterpart of the SMTP channel.
func NewFileCodeSender(dir string, from email.Address, clk clock.Clock) (CodeSender, error) {
	set, err := CodeTemplates()
	if err != nil {
		return nil, err
	}
	ch, err := email.NewFile(email.Config{From: from, Templates: set, Now: clk.Now}, email.FileConfig{Dir: dir})
	if err != nil {
		return nil, err
	}
	return ChannelCodeSender{Channel: ch, Template: CodeTemplate, Clock: clk}, nil
}
