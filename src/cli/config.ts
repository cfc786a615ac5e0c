import type { Command } from 'commander';
import { configWarnings } from '../config/check';
import { ConfigError, loadConfig } from '../config/load';
import { loadTemplates, templatesDir } from '../mail-out/templates';
import { locations, out } from './common';
import { CliExit, EXIT } from './exit-codes';
import { loadAnswers } from '../knowledge/answers';
import { kbDir, loadKnowledgeBase } from '../knowledge/kb';
import { problemLine } from './kb';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate config/ and the templates and print a summary; exit 78 with file:line:column on errors')
    .option('--json', 'the summary as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const where = locations(cmd);
      let c;
      try {
        c = loadConfig(where.configDir);
      } catch (err) {
        if (err instanceof ConfigError) throw new CliExit(EXIT.CONFIG, err.message);
        throw err;
      }
      const config = c;
      const templates = loadTemplates(templatesDir(c), () => config);
      const answers = loadAnswers(c);
      const problems = [...templates.problems(), ...answers.problems];
      if (problems.length > 0) {
        throw new CliExit(EXIT.CONFIG, `templates in ${templatesDir(c)}:\n${problems.map(problemLine).join('\n')}`);
      }
      const kb = loadKnowledgeBase(kbDir(c), c.helpdesk.locale);
      if (kb.problems.length > 0) throw new CliExit(EXIT.CONFIG, `knowledge base in ${kb.dir}:\n${kb.problems.map(problemLine).join('\n')}`);
      const summary = {
        config: where.configDir,
        address: c.helpdesk.address,
        ticketPrefix: c.helpdesk.ticketPrefix,
        mailboxes: c.mailboxes.map((m) => ({ id: m.id, kind: m.imap ? 'imap' : 'maildir', where: m.imap ? `${m.imap.user}@${m.imap.host}:${m.imap.port}` : m.maildir })),
        agents: c.agents.map((a) => a.email),
        groups: c.groups.map((g) => g.name),
        rules: c.rules.map((r) => r.name),
        escalation: c.escalation.map((e) => e.name),
        organisations: c.organisations.map((o) => o.name),
        levels: Object.keys(c.levels),
        trust: c.trust.mode,
        outgoing: c.outgoing.smtp ? `smtp://${c.outgoing.smtp.host}:${c.outgoing.smtp.port}` : `directory ${c.outgoing.directory ?? '<data>/outbox'}`,
        templates: templatesDir(c),
        answers: answers.names(),
        articles: kb.articles.length,
        warnings: configWarnings(c),
      };
      if (opts.json) return out(JSON.stringify(summary));
      out(`config OK: ${where.configDir}`);
      out(`support address ${summary.address}, tickets ${summary.ticketPrefix}-n, agent trust ${summary.trust}`);
      out(`mailboxes (${summary.mailboxes.length}): ${summary.mailboxes.map((m) => `${m.id} [${m.kind} ${m.where}]`).join(', ') || '-'}`);
      out(`agents (${summary.agents.length}): ${summary.agents.join(', ') || '-'}`);
      out(`groups (${summary.groups.length}): ${summary.groups.join(', ') || '-'}`);
      out(`rules (${summary.rules.length}): ${summary.rules.join(', ') || '-'}`);
      out(`escalation (${summary.escalation.length}): ${summary.escalation.join(', ') || '-'}`);
      out(`organisations (${summary.organisations.length}): ${summary.organisations.join(', ') || '-'}; levels: ${summary.levels.join(', ') || '-'}`);
      out(`outgoing mail: ${summary.outgoing}; templates ${summary.templates}`);
      out(`canned answers (${summary.answers.length}): ${summary.answers.join(', ') || '-'}; knowledge base: ${summary.articles} articles`);
      for (const w of summary.warnings) out(`warning: ${w}`);
    });
}
