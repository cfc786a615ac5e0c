const base = require('./jest.config');

/**
 * The integration suites whose desks run on either store (test/helpers/test-store.ts): with
 * HELPDESK_TEST_STORE=postgres each desk's intake, outbox, staff changes and views are on a
 * PostgreSQL database of its own. `npm run test:postgres` runs them so; `npm test` runs
 * everything on SQLite first, then these on PostgreSQL. A test of what only SQLite has is
 * marked `sqliteOnly` and shows as skipped here.
 */
const ON_BOTH_STORES = ['agent-replies', 'assign', 'bad-input', 'charsets', 'conversation', 'corpus', 'hostile-sender', 'imap', 'jobs', 'maildir', 'notifications', 'routing', 'search', 'suggestions', 'threading'];

/** @type {import('jest').Config} */
module.exports = { ...base, testMatch: ON_BOTH_STORES.map((name) => `**/test/integration/${name}.test.ts`) };
