import type { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TicketDocument } from '../store/tickets';
import { locations, out, positiveInt } from './common';
import { openCliDesk, type CliDesk } from './desk';
import { CliExit, EXIT } from './exit-codes';

/**
 * `helpdesk attachments get` and `helpdesk raw`: the files a ticket keeps, back out of the
 * store, numbered as `helpdesk tickets show` lists them. Admins no longer need to know where
 * the data dir keeps them.
 */
export function registerFiles(program: Command): void {
  program
    .command('attachments')
    .description('attachments of a ticket')
    .command('get')
    .description('write a ticket’s attachments (all, or one by number or name) into a folder; prints the files written')
    .argument('<ref>', 'ticket reference, e.g. HD-12')
    .argument('[which]', 'an attachment’s number (as `tickets show` lists it) or file name; default all')
    .option('-o, --output <dir>', 'folder to write into (made if missing)', '.')
    .action((ref: string, which: string | undefined, opts: { output: string }, cmd: Command) =>
      withTicket(cmd, ref, async (desk, ticket) => {
        const all = ticket.messages.flatMap((m) => m.attachments).map((a, i) => ({ ...a, n: i + 1 }));
        const chosen = which === undefined ? all : all.filter((a) => (/^\d+$/.test(which) ? a.n === Number(which) : a.filename === which));
        if (chosen.length === 0) throw new CliExit(EXIT.NOT_FOUND, which === undefined ? `${ref} has no attachments` : `${ref} has no attachment ${which}`);
        mkdirSync(opts.output, { recursive: true });
        const missing: string[] = [];
        for (const a of chosen) {
          if (!a.path) {
            missing.push(`${a.n} ${a.filename}: not stored (${a.omittedReason ?? 'unknown reason'})`);
            continue;
          }
          const bytes = await desk.view.readFile(a.path);
          if (!bytes) {
            missing.push(`${a.n} ${a.filename}: ${a.path} is missing from the store`);
            continue;
          }
          const target = freeName(opts.output, a.filename);
          writeFileSync(target, bytes, { flag: 'wx' });
          out(target);
        }
        if (missing.length > 0) throw new CliExit(EXIT.NOT_FOUND, missing.join('\n'));
      }),
    );

  program
    .command('raw')
    .description('the raw message N of a ticket (as `tickets show` numbers them), byte for byte, on stdout or into a file')
    .argument('<ref>', 'ticket reference, e.g. HD-12')
    .argument('<n>', 'message number', positiveInt('message number'))
    .option('-o, --output <file>', 'write into this file instead of stdout (never over an existing one)')
    .action((ref: string, n: number, opts: { output?: string }, cmd: Command) =>
      withTicket(cmd, ref, async (desk, ticket) => {
        const m = ticket.messages[n - 1]; // n ≥ 1: positiveInt checked it
        if (!m) throw new CliExit(EXIT.NOT_FOUND, `${ref} has no message ${n} (it has ${ticket.messages.length})`);
        if (!m.rawPath) throw new CliExit(EXIT.NOT_FOUND, `message ${n} of ${ref} was written by the help desk; it has no raw mail`);
        const bytes = await desk.view.readFile(m.rawPath);
        if (!bytes) throw new CliExit(EXIT.NOT_FOUND, `message ${n} of ${ref}: ${m.rawPath} is missing from the store`);
        if (opts.output) writeFileSync(opts.output, bytes, { flag: 'wx' });
        else process.stdout.write(bytes);
      }),
    );
}

async function withTicket(cmd: Command, ref: string, fn: (desk: CliDesk, ticket: TicketDocument) => Promise<void>): Promise<void> {
  const desk = await openCliDesk(locations(cmd), EXIT.CONFIG, { readOnly: true });
  try {
    const ticket = await desk.view.showTicket(ref);
    if (!ticket) throw new CliExit(EXIT.NOT_FOUND, `no ticket ${ref}`);
    await fn(desk, ticket);
  } finally {
    await desk.close();
  }
}

/** `dir/name`, or `dir/name (2).ext` and so on when that exists: nothing is overwritten. */
function freeName(dir: string, name: string): string {
  const ext = path.extname(name);
  const base = name.slice(0, name.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = path.join(dir, i === 1 ? name : `${base} (${i})${ext}`);
    if (!existsSync(candidate)) return candidate;
  }
}
