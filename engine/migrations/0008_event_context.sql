-- The Segment `context` object of an event (page, campaign, app, device,
-- IP address, user agent...), kept as the source sent it and apart from
-- the event's own properties (docs/data-model.md). NULL when the source
-- gave none, and for the events stored before this column existed. It is
-- personal data: the access export carries it, erasure deletes it with the
-- event.
ALTER TABLE events ADD COLUMN context JSON;
