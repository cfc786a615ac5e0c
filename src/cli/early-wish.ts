/**
 * Imported first by the `helpdesk` binary, before the modules any command needs are loaded:
 * `helpdesk ingest` (an MTA's pipe) announces at once that it will want to write the store
 * (store/write-wish.ts), so that a daemon draining a backlog steps aside, and leaves it the
 * CPU, for the whole of the pipe's short life rather than only once its modules (most of its
 * start-up time) are loaded. The wish is withdrawn when the process exits.
 */
import { resolveLocations } from '../locations';
import { announceWrite } from '../store/write-wish';

/** The command word and the `--data` value of an argument list, read before commander is loaded. */
export function commandAndData(args: string[]): { command: string | undefined; data: string | undefined } {
  let data: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--data' || arg === '--config') {
      if (arg === '--data') data = args[i + 1];
      i++;
    } else if (arg.startsWith('--data=')) data = arg.slice('--data='.length);
    else if (!arg.startsWith('-')) return { command: arg, data };
  }
  return { command: undefined, data };
}

const { command, data } = commandAndData(process.argv.slice(2));
if (command === 'ingest') process.once('exit', announceWrite(resolveLocations({ data }).dataDir));
