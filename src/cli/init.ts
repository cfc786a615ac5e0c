import type { Command } from 'commander';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../lib/package-root';
import { out } from './common';
import { CliExit, EXIT } from './exit-codes';

/**
 * `helpdesk init DIR`: a desk of the admin's own, apart from the checkout: DIR/config (a copy
 * of the shipped example config, with its JSON Schemas) and an empty DIR/data. An upgrade of
 * the checkout then never touches the admin's config.
 */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create DIR/config (a copy of the shipped example) and DIR/data for a desk of your own')
    .argument('<dir>', 'where the desk lives, e.g. /srv/helpdesk')
    .action((dir: string) => {
      const target = path.resolve(dir);
      const config = path.join(target, 'config');
      if (existsSync(config)) throw new CliExit(EXIT.USAGE, `${config} already exists; init never overwrites a config`);
      cpSync(path.join(packageRoot(), 'config'), config, { recursive: true });
      mkdirSync(path.join(target, 'data'), { recursive: true });
      out(`created ${config} (the shipped example) and ${path.join(target, 'data')}`);
      out(`next: set helpdesk.address and mailboxes in ${path.join(config, 'helpdesk.yaml')}, agents in agents.yaml, then`);
      out(`  helpdesk --config ${config} --data ${path.join(target, 'data')} config check`);
    });
}
