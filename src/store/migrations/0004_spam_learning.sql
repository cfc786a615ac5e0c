CREATE TABLE `spam_learned` (
	`key` text PRIMARY KEY NOT NULL,
	`label` text NOT NULL,
	`tokens` text NOT NULL,
	`learned_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `spam_learned_label` ON `spam_learned` (`label`);--> statement-breakpoint
ALTER TABLE `messages` ADD `spam_score` real;