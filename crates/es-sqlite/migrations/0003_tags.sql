-- dcb.events: the tags of each event, for reads and append conditions by
-- query. A tag-driven lookup (tag, position) finds the few events of one
-- boundary without scanning the log; the index on (event_type, position)
-- does the same for query items that name types only.
CREATE TABLE IF NOT EXISTS es_event_tags (
    tag      TEXT    NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (tag, position)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS es_event_tags_position ON es_event_tags (position);

CREATE INDEX IF NOT EXISTS es_events_type ON es_events (event_type, position);
