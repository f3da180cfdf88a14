-- Koper transactional outbox, SQLite. Run once (idempotent), or copy into your migrations.
-- koper_outbox: one row per event of a committed transaction, written in that transaction.
--   id            ascending: the relay publishes in id order, which is commit order per key
--   routing_key   entity + primary key; bucket = FNV-1a(routing_key) % 64, the unit relays lock
--   payload       the event's JSON envelope (redacted fields already removed or masked)
--   published_at  null while pending; set when kept for retention (retentionMs), else the row is deleted
-- koper_outbox_lease: one row per bucket; a relay locks the buckets it works on
-- (SELECT … FOR UPDATE SKIP LOCKED), so several relays never publish one key's rows out of order.
-- The pending index is what the relay's "oldest pending rows of these buckets" query uses.
CREATE TABLE IF NOT EXISTS koper_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, entity TEXT NOT NULL, routing_key TEXT NOT NULL, bucket INTEGER NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL, published_at INTEGER);
CREATE INDEX IF NOT EXISTS koper_outbox_pending ON koper_outbox (id) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS koper_outbox_published ON koper_outbox (published_at) WHERE published_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS koper_outbox_lease (bucket INTEGER PRIMARY KEY);
INSERT INTO koper_outbox_lease (bucket) VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16), (17), (18), (19), (20), (21), (22), (23), (24), (25), (26), (27), (28), (29), (30), (31), (32), (33), (34), (35), (36), (37), (38), (39), (40), (41), (42), (43), (44), (45), (46), (47), (48), (49), (50), (51), (52), (53), (54), (55), (56), (57), (58), (59), (60), (61), (62), (63) ON CONFLICT DO NOTHING;
