import { execFile } from 'node:child_process';
import { HelpdeskError } from '../lib/errors';

export interface OAuth2Config {
  tokenEnv?: string;
  tokenCommand?: string;
}

/**
 * The current OAuth2 access token. Read anew at every connect, so an expired token is
 * replaced simply by reconnecting: the variable may have been updated, and a command (for
 * example a refresh-token helper) is run again.
 */
export async function readAccessToken(oauth2: OAuth2Config, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (oauth2.tokenEnv) {
    const token = env[oauth2.tokenEnv]?.trim();
    if (!token) throw new HelpdeskError('TOKEN_MISSING', `environment variable ${oauth2.tokenEnv} holds no access token`, { transient: true });
    return token;
  }
  const command = oauth2.tokenCommand as string;
  const token = await new Promise<string>((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: 30_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new HelpdeskError('TOKEN_COMMAND_FAILED', `token command failed: ${stderr.trim() || err.message}`, { transient: true, cause: err }));
      else resolve(stdout.trim());
    });
  });
  if (!token) throw new HelpdeskError('TOKEN_MISSING', 'token command printed no access token', { transient: true });
  return token;
}
