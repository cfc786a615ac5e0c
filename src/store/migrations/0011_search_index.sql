-- Full-text search (issue #22): an external-content FTS5 index over the messages' subject,
-- text and sender, kept by triggers, so every insert, change or delete of a message changes
-- the index in the same transaction. Porter stemming over unicode61 without diacritics:
-- "printers" finds "printer", "impresion" finds "impresión". `helpdesk tickets reindex` rebuilds it.
CREATE VIRTUAL TABLE `messages_fts` USING fts5(subject, text, from_address, from_name, content='messages', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER `messages_fts_insert` AFTER INSERT ON `messages` BEGIN
  INSERT INTO messages_fts(rowid, subject, text, from_address, from_name) VALUES (new.id, new.subject, new.text, new.from_address, new.from_name);
END;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_delete` AFTER DELETE ON `messages` BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, text, from_address, from_name) VALUES ('delete', old.id, old.subject, old.text, old.from_address, old.from_name);
END;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_update` AFTER UPDATE OF subject, text, from_address, from_name ON `messages` BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, text, from_address, from_name) VALUES ('delete', old.id, old.subject, old.text, old.from_address, old.from_name);
  INSERT INTO messages_fts(rowid, subject, text, from_address, from_name) VALUES (new.id, new.subject, new.text, new.from_address, new.from_name);
END;
--> statement-breakpoint
-- How many messages have each (stemmed) word: similar-ticket lookups keep the question's rare words.
CREATE VIRTUAL TABLE `messages_vocab` USING fts5vocab(messages_fts, 'row');
--> statement-breakpoint
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
