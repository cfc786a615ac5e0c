CREATE TABLE `suppressions` (
	`address` text PRIMARY KEY NOT NULL,
	`reason` text NOT NULL,
	`until` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `outbox` ADD `subject` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `outbox` ADD `in_reply_to` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `references_ids` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `outbox` ADD `locale` text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE `outbox` ADD `bounce_status` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `bounced_at` integer;--> statement-breakpoint
CREATE INDEX `outbox_template_created` ON `outbox` (`template`,`created_at`);--> statement-breakpoint
-- The key of the HMAC in the Message-IDs we generate, when config gives none (custom SQL).
INSERT OR IGNORE INTO `key_value` (`key`, `value`) VALUES ('message_id_secret', lower(hex(randomblob(32))));
