-- Hand-written. Search finds words without their accents, as SQLite's FTS5 index does
-- (unicode61 remove_diacritics): "impresion" finds "impresión"; and a phrase stays within the
-- subject, the text or the sender (below). A text search configuration
-- of our own: English (stemming as SQLite's porter) with the unaccent dictionary in front.
-- unaccent is a trusted extension (PostgreSQL 13 and later): the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent;--> statement-breakpoint
CREATE TEXT SEARCH CONFIGURATION helpdesk_search (COPY = english);--> statement-breakpoint
ALTER TEXT SEARCH CONFIGURATION helpdesk_search ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;--> statement-breakpoint
DROP INDEX "messages_search";--> statement-breakpoint
ALTER TABLE "messages" DROP COLUMN "search";--> statement-breakpoint
-- The subject, the text and the sender are apart as SQLite's FTS5 columns are: a phrase never
-- runs from one into the next ("Paper jam" + "Paper jam in tray" must not match "jam paper").
-- Concatenated tsvectors continue each other's positions, so 100 stop words (they take
-- positions but are not kept) open a gap no phrase crosses.
ALTER TABLE "messages" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('helpdesk_search', coalesce("subject", '')), 'A') ||
  setweight(to_tsvector('helpdesk_search', repeat('a ', 100) || coalesce("text", '') || repeat(' a', 100) || ' ' || coalesce("from_address", '') || ' ' || coalesce("from_name", '')), 'B')
) STORED;--> statement-breakpoint
CREATE INDEX "messages_search" ON "messages" USING gin ("search");
