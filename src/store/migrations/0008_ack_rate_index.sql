-- drizzle-kit 0.31 quotes an index expression as if it were column names; written by hand.
CREATE INDEX `outbox_template_recipient_created` ON `outbox` (`template`, json_extract(recipients, '$[0]'), `created_at`);
