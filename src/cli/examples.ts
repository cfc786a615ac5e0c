import type { Command } from 'commander';

/** One example per command, shown at the end of its help (`helpdesk tickets list --help`). */
const EXAMPLES: Record<string, string[]> = {
  init: ['helpdesk init /srv/helpdesk'],
  start: ['helpdesk --config /srv/helpdesk/config --data /srv/helpdesk/data start'],
  ingest: ['helpdesk ingest --json ./exported-mail/', 'some-mta | helpdesk ingest -'],
  'tickets list': ['helpdesk tickets list --status open --limit 20', "helpdesk tickets list 'status:open,pending assignee:none customer:@acme.example'", 'helpdesk tickets list --json | jq ".[].ref"'],
  'tickets search': ["helpdesk tickets search 'impresora status:open assignee:ana since:2026-11-01'", "helpdesk tickets search '\"paper jam\" -toner tag:vip' --json"],
  'tickets reindex': ['helpdesk tickets reindex', 'helpdesk tickets reindex --check'],
  'kb check': ['helpdesk kb check', 'helpdesk kb check --json | jq ".problems"'],
  'kb search': ["helpdesk kb search 'the printer says paper jam'", "helpdesk kb search 'impresora atascada' --locale es --public"],
  'tickets show': ['helpdesk tickets show HD-12'],
  'tickets set': ['helpdesk tickets set HD-12 status resolved --reason "fixed by the vendor"', 'helpdesk tickets set HD-12 assignee ana@example.com'],
  'attachments get': ['helpdesk attachments get HD-12 invoice.pdf -o /tmp'],
  raw: ['helpdesk raw HD-12 1 -o /tmp/first.eml'],
  'outbox list': ['helpdesk outbox list --status failed'],
  'outbox retry': ['helpdesk outbox retry 42'],
  'jobs run': ['helpdesk jobs run backup'],
  'backup restore': ['systemctl stop helpdesk', 'helpdesk backup restore /srv/helpdesk/data/backups/helpdesk-2026-12-01T03-30-00-000Z.sqlite', 'systemctl start helpdesk'],
  report: ['helpdesk report --since 2026-11-01 --until 2026-11-30 --html /tmp/november.html'],
  'rules test': ['helpdesk rules test customer-mail.eml'],
  'spam train': ['helpdesk spam train --spam ./junk/ --ham ./good-mail/'],
  'spam classify': ['helpdesk spam classify suspicious.eml'],
  'spam eval': ['helpdesk spam eval --spam ./held-out-spam/ --ham ./held-out-ham/'],
  status: ['helpdesk status --json'],
  'migrate-store': ['systemctl stop helpdesk', 'helpdesk --data /srv/helpdesk/data migrate-store --to "$DATABASE_URL"'],
  'config check': ['helpdesk --config /srv/helpdesk/config config check'],
};

/** Adds its example to every command (by its path below `helpdesk`); a command without one is an error, so none is forgotten. */
export function addExamples(program: Command): void {
  const visit = (cmd: Command, path: string[]) => {
    for (const sub of cmd.commands) {
      const names = [...path, sub.name()];
      if (sub.commands.length > 0) {
        visit(sub, names);
        continue;
      }
      const lines = EXAMPLES[names.join(' ')];
      if (!lines) throw new Error(`no help example for "helpdesk ${names.join(' ')}"`);
      sub.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  ${l}`).join('\n')}`);
    }
  };
  visit(program, []);
}
