#!/usr/bin/env node
/**
 * main.ts — the `smarthold` command.
 *
 * Parses arguments (commander) and hands each subcommand to its module; turns
 * errors into sysexits codes. No logic of its own.
 */
import { Argument, Command, Option } from 'commander';
import { init } from './commands/init.js';
import { check, show } from './commands/config.js';
import { pluginInfo, pluginList, pluginNew } from './commands/plugin.js';
import * as quarantineCmd from './commands/quarantine.js';
import { explain, flush, hold, list, release, remove, showMessage } from './commands/queue.js';
import { start } from './commands/start.js';
import { EX, reportError } from './exit.js';

function run(fn: () => Promise<number> | number): () => Promise<void> {
  return async () => {
    try {
      process.exitCode = await fn();
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

const program = new Command();
program.name('smarthold').description('SMTP smarthost with an outbound-spam quarantine').version('0.1.0');
const cfgOpt = [
  '-c, --config <file>',
  'configuration file (default: $SMARTHOLD_CONFIG or ./smarthold.toml)',
] as const;

program
  .command('start')
  .description('run smarthold in the foreground')
  .option(...cfgOpt)
  .option('--pretty', 'human-readable logs instead of JSON lines')
  .option('--grace <seconds>', 'how long SIGTERM waits for sessions and deliveries', '10')
  .action((o: { config?: string; pretty?: boolean; grace?: string }) => run(() => start(o))());

program
  .command('init [dir]')
  .description('write a commented default smarthold.toml (and conf.d/) into DIR')
  .action((dir: string | undefined) => run(() => init(dir))());

const config = program.command('config').description('check or show the configuration');
config
  .command('check')
  .option(...cfgOpt)
  .description('validate the configuration and every plugin section')
  .action((o: { config?: string }) => run(() => check(o))());
config
  .command('show')
  .option(...cfgOpt)
  .option('--non-default', 'only what the files set')
  .description('print the effective configuration as TOML')
  .action((o: { config?: string; nonDefault?: boolean }) => run(() => show(o))());

const usageExit = (err: { exitCode: number }): never => process.exit(err.exitCode === 0 ? EX.OK : EX.USAGE);
const queue = program
  .command('queue')
  .description('look at and change the mail queue (works whether smarthold runs or not)')
  // A usage error in a queue command (or mailq) exits 64 (EX_USAGE) instead of commander's 1; --help exits 0.
  .exitOverride(usageExit);
queue
  .command('list')
  .option(...cfgOpt)
  .option('--json', 'JSON Lines with postqueue -j field names')
  .description('list messages with recipients still pending')
  .action((o: { config?: string; json?: boolean }) => run(() => list(o))());
queue
  .command('show <queue_id>')
  .option(...cfgOpt)
  .option('--json', 'the full record as JSON')
  .description(
    'one message: envelope, each recipient with attempts, next attempt and last reply, relay, dsn, and the hook trace',
  )
  .action((id: string, o: { config?: string; json?: boolean }) => run(() => showMessage(id, o))());
queue
  .command('flush [queue_id]')
  .option(...cfgOpt)
  .description('make deferred recipients (of one message, or all) due now')
  .action((id: string | undefined, o: { config?: string }) => run(() => flush(id, o))());
queue
  .command('delete <queue_id|ALL>')
  .option(...cfgOpt)
  .description('delete a message (records and body), or every queued message with the word ALL')
  .action((id: string, o: { config?: string }) => run(() => remove(id, o))());
queue
  .command('hold <queue_id>')
  .option(...cfgOpt)
  .description('put active and deferred recipients on hold')
  .action((id: string, o: { config?: string }) => run(() => hold(id, o))());
queue
  .command('release <queue_id>')
  .option(...cfgOpt)
  .description('release held recipients: active, due now')
  .action((id: string, o: { config?: string }) => run(() => release(id, o))());
program
  .command('mailq')
  .exitOverride(usageExit)
  .option(...cfgOpt)
  .option('--json', 'JSON Lines with postqueue -j field names')
  .description('alias of queue list')
  .action((o: { config?: string; json?: boolean }) => run(() => list(o))());

program
  .command('explain <queue_id>')
  .option(...cfgOpt)
  .option('--json', 'the full record as JSON')
  .description('why a message went where it went: each hook call, its verdict and duration')
  .action((id: string, o: { config?: string; json?: boolean }) => run(() => explain(id, o))());

const quarantine = program
  .command('quarantine')
  .description(
    'held mail and preferences of the outbound-spam quarantine (works whether smarthold runs or not)',
  );
quarantine
  .command('list')
  .option(...cfgOpt)
  .option('--sender <address>', 'only mail from this sender (<> for the null sender)')
  .option('--recipient <address>', 'only mail held for this recipient')
  .addOption(
    new Option('--state <state>', 'held mail, or mail that left the quarantine')
      .choices(quarantineCmd.HELD_STATES)
      .default('held'),
  )
  .option('--limit <n>', 'at most this many messages, newest first', '100')
  .option('--json', 'JSON Lines: one held-message object per line')
  .description('held messages: queue id, date, sender, recipients, score, subject, state')
  .action((o: quarantineCmd.ListOptions) => run(() => quarantineCmd.list(o))());
quarantine
  .command('show <queue_id>')
  .option(...cfgOpt)
  .option('--json', 'the record, the queue state of each recipient and the header block as JSON')
  .description('one held message: why held, score, rules, recipients, state, and its header block')
  .action((id: string, o: { config?: string; json?: boolean }) => run(() => quarantineCmd.show(id, o))());
quarantine
  .command('release <queue_id...>')
  .option(...cfgOpt)
  .option('--recipient <address>', "release only this recipient's copy")
  .description('deliver held messages to the recipients they are held for; the running instance sends them')
  .action((ids: string[], o: { config?: string; recipient?: string }) =>
    run(() => quarantineCmd.release(ids, o))(),
  );
quarantine
  .command('delete <queue_id...>')
  .option(...cfgOpt)
  .description('discard held messages: never delivered, bodies removed')
  .action((ids: string[], o: { config?: string }) => run(() => quarantineCmd.remove(ids, o))());
const collect = (v: string, prev: string[]): string[] => [...prev, v];
quarantine
  .command('prefs <address>')
  .option(...cfgOpt)
  .option('--set <key=value>', `change a preference (repeatable): ${quarantineCmd.PREF_KEYS}`, collect, [])
  .option('--json', 'the sender and recipient preferences and the unsubscription as JSON')
  .description(
    "an address's preferences as a sender and as a recipient, and whether it unsubscribed from mail pages send on request; --set changes them",
  )
  .action((address: string, o: { config?: string; set?: string[]; json?: boolean }) =>
    run(() => quarantineCmd.prefs(address, o))(),
  );
const linkKind = (): Argument =>
  new Argument('<kind>', 'sender or recipient').choices(['sender', 'recipient']);
quarantine
  .command('link')
  .addArgument(linkKind())
  .argument('<address>')
  .option(...cfgOpt)
  .description("a fresh link to the address's page (for support staff); earlier links keep working")
  .action((kind: 'sender' | 'recipient', address: string, o: { config?: string }) =>
    run(() => quarantineCmd.link(kind, address, o))(),
  );
quarantine
  .command('rotate')
  .addArgument(linkKind())
  .argument('<address>')
  .option(...cfgOpt)
  .description("revoke every link to the address's page and print a new one")
  .action((kind: 'sender' | 'recipient', address: string, o: { config?: string }) =>
    run(() => quarantineCmd.rotate(kind, address, o))(),
  );

const plugin = program
  .command('plugin')
  .description('scaffold a plugin package, or show the plugins a config loads')
  .exitOverride(usageExit);
plugin
  .command('new <name>')
  .option('--dir <dir>', 'where to create smarthold-plugin-NAME/ (default: the working directory)')
  .option(
    '--link [checkout]',
    'depend on @smarthold/core and @smarthold/testkit in a smarthold checkout (file:); the default when run from one',
  )
  .option('--no-link', 'depend on the published @smarthold/core and @smarthold/testkit')
  .description(
    'create smarthold-plugin-NAME/: a TypeScript plugin package with a test, ready for npm install && npm test',
  )
  .action((name: string, o: { dir?: string; link?: boolean | string }) => run(() => pluginNew(name, o))());
plugin
  .command('list')
  .option(...cfgOpt)
  .option('--json', 'JSON Lines, one plugin per line')
  .description('the plugins the configuration loads, in run order, with what each provides and requires')
  .action((o: { config?: string; json?: boolean }) => run(() => pluginList(o))());
plugin
  .command('info <name>')
  .option(...cfgOpt)
  .option('--json', 'the manifest facts and the config JSON Schema as JSON')
  .description("one plugin: description, services, and its config section's keys and defaults")
  .action((name: string, o: { config?: string; json?: boolean }) => run(() => pluginInfo(name, o))());

await program.parseAsync();
