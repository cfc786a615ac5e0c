ALTER TABLE `tickets` ADD `rating` integer;--> statement-breakpoint
ALTER TABLE `tickets` ADD `rating_comment` text;--> statement-breakpoint
ALTER TABLE `tickets` ADD `rated_at` integer;--> statement-breakpoint
ALTER TABLE `tickets` ADD `merged_into` integer;