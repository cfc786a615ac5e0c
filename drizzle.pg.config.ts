import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL store's migrations (src/store/pg/schema.ts); drizzle.config.ts is SQLite's. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/pg/schema.ts',
  out: './src/store/pg/migrations',
});
