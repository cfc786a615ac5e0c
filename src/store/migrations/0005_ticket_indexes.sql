CREATE INDEX `tickets_assignee_status` ON `tickets` (`assignee`,`status`);--> statement-breakpoint
CREATE INDEX `tickets_category_source` ON `tickets` (`category_source`);--> statement-breakpoint
-- Spam totals became counters in key_value; start them from what was learnt before.
INSERT OR REPLACE INTO `key_value` (`key`, `value`) SELECT 'spam:learnt:' || `label`, CAST(count(*) AS TEXT) FROM `spam_learned` GROUP BY `label`;