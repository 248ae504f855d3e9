// Package templates loads, validates and renders message templates.
//
// # On-disk format
//
// A templates directory is flat. Each template is one file (email may add a
// second) named
//
//	NAME.CHANNEL.EXT
//
// where NAME matches [a-z0-9][a-z0-9_-]*, CHANNEL is email, sms, push or
// line, and EXT is html or txt (json for line):
//
//	welcome.email.html     HTML body of the "welcome" email (html/template)
//	welcome.email.txt      optional explicit plain-text part (text/template);
//	                       without it the text part is generated from the HTML
//	flash_sale.sms.txt     SMS body (text/template)
//	cart.push.txt          push notification body (text/template)
//	welcome.line.json      LINE messages: a JSON array of 1 to 5 LINE message
//	                       objects (text, image, flex) after the front matter
//
// Other files (README.md, dotfiles, files with fewer than three dot-separated
// parts) are ignored; a three-part name with an unknown channel or extension
// is an error, so typos do not silently drop a template.
//
// The main file of a template starts with YAML front matter between two
// "---" lines. Keys (unknown keys are errors):
//
//	purpose:     consent purpose, required ("marketing", "transactional", ...)
//	description: free text
//	subject:     email subject, required for email (text/template)
//	preheader:   email preview text, optional (text/template)
//	from_name:   email display name overriding the configured one, optional
//	title:       push title, required for push (text/template)
//	url:         push click-through URL, optional (text/template)
//	icon:        push icon URL, optional
//
// A plain-text companion (NAME.email.txt next to NAME.email.html) has no
// front matter. A line template's front matter has only purpose and
// description.
//
// # LINE templates
//
// The body of NAME.line.json is text/template source that must render to a
// JSON array of LINE message objects. Every printed value is escaped as the
// content of a JSON string (put placeholders inside "..."), so a trait can
// never change the structure. At load the template is rendered with every
// trait and payload value missing and must give well-formed JSON with at
// most 5 messages, each of a known type (text, image, flex), text within
// 5000 characters, https image URLs, and flex messages with altText and a
// bubble or carousel; problems are *Error values wrapping ErrLINEMessage
// whose detail names the line, column and JSON pointer ("line 7, column 3
// (/1/altText): ..."). Each rendering is checked again with the real data
// (an empty text or altText fails then) and Rendered.Messages holds the
// compact array.
//
// # Data
//
// Templates see one map:
//
//	.traits.NAME       the profile's trait NAME (nil when missing)
//	.payload.KEY       the journey entry payload's KEY
//	.profile_id        Tact's profile id
//	.unsubscribe_url   one-click unsubscribe link (marketing only)
//	.preferences_url   preference-centre link
//	.timezone          the person's IANA zone ("UTC" when unknown)
//	.now               the send time in the person's zone
//	.journey, .step    journey and step names
//
// A field the template prints must have a value for the person (not nil,
// "" or empty) unless the action gives a default,
// {{ .traits.first_name | default "there" }}, or sits inside an {{if}} or
// {{with}} that tests it: otherwise Render refuses (ErrRender naming the
// field; Template.Missing lists them) and the message is not sent, so no
// one receives "Use code  for 20% off". Data.AllowMissing lets previews
// render the blanks.
//
// # Helpers
//
//	default D V        V, or D when V is nil, "" or an empty list/map
//	number V           1234567 → "1,234,567"; floats get 2 decimals
//	decimal N V        V with N decimals and thousands separators
//	currency CODE V    "THB" 1290.5 → "฿1,290.50"; unknown codes → "CODE 1,290.50"
//	date LAYOUT V      V (time.Time, RFC 3339 or YYYY-MM-DD string, unix
//	                   seconds) in the person's zone; LAYOUT is a Go layout or
//	                   one of "date" (2 Jan 2006), "datetime" (2 Jan 2006 15:04),
//	                   "time" (15:04), "iso" (RFC 3339)
//	upper, lower, trim S
//	truncate N S       at most N characters, "…" appended when cut
//
// # Validation
//
// Validate checks every field reference against the known names: the trait
// schema and the payload keys the caller supplies. .traits.X with X unknown,
// .payload.K with K unknown and any unknown top-level field fail. References
// inside range/with bodies are relative to a different dot and are not
// checked (except $.-rooted ones). A marketing email (purpose other than
// transactional) must use .unsubscribe_url in each of its parts, in the HTML
// inside an href attribute.
package templates
