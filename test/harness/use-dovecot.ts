import { startDovecot, type Dovecot } from './dovecot';

/**
 * A private Dovecot for the calling test file: started before its tests, stopped after them.
 * Returns a getter (the server exists only once beforeAll has run).
 */
export function useDovecot(): () => Dovecot {
  let dv: Dovecot | null = null;
  beforeAll(async () => {
    dv = await startDovecot();
  });
  afterAll(async () => {
    await dv?.stop();
  });
  return () => {
    if (!dv) throw new Error('Dovecot is not started yet: use it inside a test');
    return dv;
  };
}
