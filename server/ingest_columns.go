package server

import (
	"encoding/json"
	"time"

	"github.com/tactcdp/tact/engine"
)

// eventColumns turns the event rows built by convertMessage into the
// store's columnar batch. It reports false when some event has no message
// id: such events are identified by their content, which the import
// computes, so they go through the import.
func eventColumns(rows []map[string]any) (engine.IngestEvents, bool) {
	n := len(rows)
	c := engine.IngestEvents{UserID: make([]string, n), AnonymousID: make([]string, n), Event: make([]string, n),
		TS: make([]time.Time, n), Properties: make([]string, n), Context: make([]string, n), MessageID: make([]string, n)}
	for i, r := range rows {
		id, _ := r["message_id"].(string)
		if id == "" {
			return engine.IngestEvents{}, false
		}
		c.MessageID[i] = id
		c.UserID[i], _ = r[engine.KindUserID].(string)
		c.AnonymousID[i], _ = r[engine.KindAnonymousID].(string)
		c.Event[i], _ = r["event"].(string)
		c.TS[i], _ = r["timestamp"].(time.Time)
		var ok bool
		if c.Properties[i], ok = jsonText(r["properties"]); !ok {
			return engine.IngestEvents{}, false
		}
		if c.Context[i], ok = jsonText(r["context"]); !ok {
			return engine.IngestEvents{}, false
		}
	}
	return c, true
}

// joinColumns concatenates the columns of items built at submit; false
// when some item's events could not all be put in columns.
func joinColumns(items []*ingestItem) (engine.IngestEvents, bool) {
	var c engine.IngestEvents
	for _, it := range items {
		if len(it.events) == 0 {
			continue
		}
		if !it.colsOK {
			return engine.IngestEvents{}, false
		}
		c.UserID = append(c.UserID, it.cols.UserID...)
		c.AnonymousID = append(c.AnonymousID, it.cols.AnonymousID...)
		c.Event = append(c.Event, it.cols.Event...)
		c.TS = append(c.TS, it.cols.TS...)
		c.Properties = append(c.Properties, it.cols.Properties...)
		c.Context = append(c.Context, it.cols.Context...)
		c.MessageID = append(c.MessageID, it.cols.MessageID...)
	}
	return c, true
}

// jsonText is the compact JSON of an object, "" for none; false when it
// cannot be encoded (the import then reports it with its field).
func jsonText(v any) (string, bool) {
	m, _ := v.(map[string]any)
	if m == nil {
		return "", v == nil
	}
	b, err := json.Marshal(m)
	return string(b), err == nil
}
