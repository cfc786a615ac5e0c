-- Hand-written: what the SQLite store's custom migrations (0006, 0011) do, in PostgreSQL.
-- The key of the HMAC in the Message-IDs we generate, when config gives none: 256 bits from
-- two gen_random_uuid() (PostgreSQL's strong random source), hashed.
INSERT INTO "key_value" ("key", "value") VALUES ('message_id_secret', encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex')) ON CONFLICT DO NOTHING;--> statement-breakpoint
-- Full-text search over the messages' subject (weight A), text and sender (B), kept by
-- PostgreSQL itself in a generated column: written, moved and rolled back with its message
-- (SQLite keeps an FTS5 table by triggers for the same reason). 'english' stems as SQLite's porter.
ALTER TABLE "messages" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english', coalesce("subject", '')), 'A') ||
  setweight(to_tsvector('english', coalesce("text", '') || ' ' || coalesce("from_address", '') || ' ' || coalesce("from_name", '')), 'B')
) STORED;--> statement-breakpoint
CREATE INDEX "messages_search" ON "messages" USING gin ("search");
