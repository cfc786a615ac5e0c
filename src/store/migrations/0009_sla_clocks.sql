ALTER TABLE `tickets` ADD `first_response_due_at` integer;--> statement-breakpoint
ALTER TABLE `tickets` ADD `paused_at` integer;--> statement-breakpoint
-- Tickets pending when this version arrives: their clocks stand still from their last change.
UPDATE `tickets` SET `paused_at` = `updated_at` WHERE `status` = 'pending';
