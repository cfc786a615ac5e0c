import type { Config } from '../config/schema';
import type { Logger } from '../lib/log';
import { inDataDir } from '../locations';
import type { SourceState } from '../store/mailbox-state';
import { imapSource, type ImapSourceOptions } from './imap';
import { maildirSource } from './maildir';
import type { Source } from './source';

export interface SourceDeps {
  config: Config;
  dataDir: string;
  state: SourceState;
  log: Logger;
  /** A mailbox failing for `health.alertAfter` (IMAP). */
  onUnhealthy?: ImapSourceOptions['onUnhealthy'];
  /** Junk-folder learning (`jobs.junkLearning`), where the store supports it. */
  learnJunk?: ImapSourceOptions['learnJunk'];
  onDuplicate?: ImapSourceOptions['onDuplicate'];
}

/** The source that reads one configured mailbox: IMAP or a Maildir (null: the mailbox names neither). */
export function sourceFor(mailbox: Config['mailboxes'][number], deps: SourceDeps): Source | null {
  const log = deps.log.child({ mailbox: mailbox.id });
  const maxMessageSize = deps.config.limits.maxMessageSize;
  if (mailbox.imap) {
    return imapSource({
      mailbox: { ...mailbox, imap: mailbox.imap },
      state: deps.state,
      log,
      alertAfterMs: deps.config.health.alertAfter,
      onUnhealthy: deps.onUnhealthy,
      learnJunk: deps.learnJunk,
      onDuplicate: deps.onDuplicate,
      junkScanEveryMs: mailbox.junkScanInterval,
      maxMessageSize,
    });
  }
  if (mailbox.maildir) {
    return maildirSource({
      id: mailbox.id,
      dir: inDataDir(deps.dataDir, mailbox.maildir),
      pollIntervalMs: mailbox.pollInterval,
      state: deps.state,
      log,
      maxMessageSize,
      junk: mailbox.folders.junk,
      readJunk: mailbox.readJunk,
      learnJunk: deps.learnJunk,
      junkScanEveryMs: mailbox.junkScanInterval,
      onDuplicate: deps.onDuplicate,
    });
  }
  return null;
}
