-- drizzle-kit 0.31 quotes an index expression as if it were column names; written by hand.
-- The acknowledgement budget of a Gmail sender counts its dotted forms as one mailbox
-- (store/outbox.ts sentToSince): this index finds them by store/dotless-mailbox.ts's expression.
CREATE INDEX `outbox_template_dotless_created` ON `outbox` (`template`, replace(substr(json_extract(recipients, '$[0]'), 1, (case when instr(json_extract(recipients, '$[0]'), '+') > 0 then instr(json_extract(recipients, '$[0]'), '+') else instr(json_extract(recipients, '$[0]'), '@') end) - 1), '.', ''), `created_at`);
