import { defineConfig } from 'drizzle-kit';

// drizzle-kit only needs the schema to generate migrations; the URL matters for `drizzle-kit studio`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/index.ts',
  out: './db/migrations',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
});
