package templates_test

import (
	"fmt"
	"testing/fstest"

	"github.com/tactcdp/tact/channels/templates"
)

// ExampleSet_Render loads a template folder and renders an SMS for one
// person; a field the person lacks takes the template's default.
func ExampleSet_Render() {
	set, err := templates.LoadFS(fstest.MapFS{"flash.sms.txt": {Data: []byte(
		"---\npurpose: marketing\n---\nHi {{ .traits.first_name | default \"there\" }}, 30% off today with {{ .payload.code }}. Reply STOP to opt out.\n")}})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := set.Render("flash", templates.ChannelSMS, templates.Data{
		ProfileID: 7, Traits: map[string]any{}, Payload: map[string]any{"code": "TACT30"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Purpose + ": " + r.Text)
	// Output:
	// marketing: Hi there, 30% off today with TACT30. Reply STOP to opt out.
}
