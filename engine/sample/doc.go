// Package sample generates deterministic synthetic first-party data for Tact:
// the customers, web and store activity, e-mail engagement and consent
// histories of a Thai/South-East-Asian retailer with customers worldwide.
//
// Write streams six files into a directory, in the formats `tact import`
// reads (docs/cli.md), and returns a Manifest listing them in import order:
//
//	crm_profiles.csv      profiles  CRM export keyed by user_id + email
//	web_identify.jsonl    profiles  identify calls linking anonymous_id (and
//	                                device_token) to user_id, with tags
//	web_events.jsonl      events    page/product/cart/checkout/purchase events
//	                                keyed only by anonymous_id
//	store_purchases.csv   events    till purchases keyed by E.164 phone
//	email_engagement.csv  events    e-mail opens and clicks keyed by e-mail
//	consents.csv          consents  consent histories keyed by user_id or e-mail
//
// The same Options always give byte-identical files: every customer is drawn
// from PCG streams seeded by (seed, customer index), identifiers come from
// bijective mixing of counters (so they are unique by construction), and
// nothing reads the clock or iterates a map. Memory stays flat whatever the
// size: rows go straight to buffered files, and one background goroutine
// does the writing.
//
// The data holds deliberate edge cases for identity resolution and consent
// evaluation (family e-mail addresses shared by two user_ids, e-mails
// respelled with other case and surrounding spaces, duplicated message_ids,
// same-instant grant/withdrawal ties, expired grants, wildcard channels, two
// notice versions per purpose). Manifest.Cases names them and gives the
// figures an import should reproduce. The committed sample in
// testdata/sample is Write(dir, Options{}); its README lists the cases.
package sample
