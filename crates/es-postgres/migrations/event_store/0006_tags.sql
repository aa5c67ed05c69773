-- dcb.events: the tags of each event, for reads and append conditions by
-- query (docs/adr/dcb-append-conditions.md). A B-tree on (tag, txid,
-- sequence) finds one boundary's events in log order without touching the
-- rest of the log; (event_type, txid, sequence) does the same for query
-- items that name types only.
CREATE TABLE IF NOT EXISTS {schema}.es_event_tags (
    tag      text   NOT NULL,
    txid     bigint NOT NULL,
    sequence bigint NOT NULL,
    PRIMARY KEY (tag, txid, sequence)
);

CREATE INDEX IF NOT EXISTS es_event_tags_sequence ON {schema}.es_event_tags (sequence);

CREATE INDEX IF NOT EXISTS es_events_type ON {schema}.es_events (event_type, txid, sequence);
