ALTER TABLE `tickets` ADD `organisation` text;--> statement-breakpoint
ALTER TABLE `tickets` ADD `contract` text;--> statement-breakpoint
ALTER TABLE `tickets` ADD `sla_level` text;