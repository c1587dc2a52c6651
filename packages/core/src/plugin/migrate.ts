/**
 * plugin/migrate.ts — run one plugin's migrations on the plugin database.
 *
 * Migrations are tracked per plugin (a table named after the plugin), so two
 * plugins' "001_init" never collide. Used by ctx.data.migrate in the host and
 * by tools that open a plugin's tables outside a running instance (the CLI).
 */
import { type Kysely, type Migration, Migrator } from 'kysely';
import { SmartholdError } from '../errors.js';

/** The table that tracks a plugin's migrations. */
export function migrationTable(plugin: string): string {
  return `smarthold_migrations_${plugin.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;
}

/**
 * Applies the plugin's migrations (by name, in name order) that have not run yet.
 * Throws SMARTHOLD_PLUGIN_SETUP naming the plugin when one fails.
 */
export async function migratePlugin(
  // Plugin tables are untyped here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
  plugin: string,
  migrations: Readonly<Record<string, Migration>>,
): Promise<void> {
  const table = migrationTable(plugin);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
    migrationTableName: table,
    migrationLockTableName: `${table}_lock`,
  });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    throw new SmartholdError(
      'SMARTHOLD_PLUGIN_SETUP',
      `plugin "${plugin}": migration failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      { cause: error },
    );
  }
}
