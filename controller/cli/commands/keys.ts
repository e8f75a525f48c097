// `mcpfleet keys create | list | revoke`: API keys for machines (CI, agents), through the
// management API (admin only). A new key is printed once, on stdout alone so it can be piped
// into a secret store; the controller keeps only an HMAC of it and cannot show it again.
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../../registry/catalog/duration.ts';
import type { ApiKeyRecord } from '../../api/types.ts';
import { isKeyId } from '../../auth/keys/key-format.ts';
import { ROLES, type Role } from '../../auth/principal.ts';
import type { ApiClient } from '../api-client.ts';
import { formatAge, formatTable, formatTime } from '../format.ts';
import { clientFor, print, withConnection, type ConnectionOptions } from './connection-options.ts';

const DAY_MS = 86_400_000;

export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('Issue, list and revoke API keys (needs the admin role)');

  withConnection(
    keys
      .command('create')
      .description('Issue a key and print it, once: store it now, it cannot be shown again')
      .requiredOption('--name <name>', 'what the key is for, e.g. ci-bot (unique among live keys)')
      .addOption(
        new Option('--role <role>', 'what it may do on the management API')
          .choices(ROLES)
          .makeOptionMandatory(),
      )
      .option('--servers <slugs>', 'only these servers, comma-separated (default: any)', parseList)
      .option(
        '--database-url <url>',
        "write the key straight into the controller's database instead of calling its API " +
          '(the first admin key; needs MCPFLEET_KEY_HASHING_SECRET)',
      )
      .option(
        '--expires <duration>',
        'expire after this long, e.g. 90d or 12h (default: never)',
        parseExpiry,
      ),
    [
      'mcpfleet keys create --name ci-bot --role operator',
      'mcpfleet keys create --name first-admin --role admin --database-url "$DATABASE_URL"',
      'mcpfleet keys create --name reader --role viewer --servers everything,memory --expires 90d',
    ],
  ).action(
    async (
      options: ConnectionOptions & {
        name: string;
        role: Role;
        servers?: string[];
        expires?: number;
        databaseUrl?: string;
      },
    ) => {
      const expiresAt =
        options.expires !== undefined ? new Date(Date.now() + options.expires) : undefined;
      // Loaded here: it opens the store (pg, the logger), which no other command needs.
      const created = options.databaseUrl
        ? await (
            await import('./keys-in-database.ts')
          ).createKeyInDatabase(options.databaseUrl, {
            name: options.name,
            role: options.role,
            servers: options.servers ?? null,
            expiresAt: expiresAt ?? null,
          })
        : await clientFor(options).createKey({
            name: options.name,
            role: options.role,
            ...(options.servers ? { servers: options.servers } : {}),
            ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
          });
      if (options.json) {
        print(created);
        return;
      }
      print(`${created.key}\n`);
      process.stderr.write(
        `Key "${created.name}" (id ${created.id}, ${created.role}${expiry(created)}) created. ` +
          'This is the only time it is shown; use it as MCPFLEET_TOKEN or ' +
          '"Authorization: Bearer <key>".\n',
      );
    },
  );

  withConnection(
    keys.command('list').description('List every key, revoked ones too (never their secrets)'),
    ['mcpfleet keys list', 'mcpfleet keys list --json'],
  ).action(async (options: ConnectionOptions) => {
    const listed = await clientFor(options).listKeys();
    print(options.json ? { keys: listed } : formatKeys(listed));
  });

  withConnection(
    keys
      .command('revoke')
      .description('Revoke a key: refused from then on (other replicas: within 30 s at worst)')
      .argument('<name|id>', "the key's name (a live key) or id"),
    ['mcpfleet keys revoke ci-bot', 'mcpfleet keys revoke 3f9c2a7b1d0e4c55'],
  ).action(async (nameOrId: string, options: ConnectionOptions) => {
    const client = clientFor(options);
    const revoked = await client.revokeKey(await keyIdOf(client, nameOrId));
    print(options.json ? revoked : `Key "${revoked.name}" (id ${revoked.id}) revoked.\n`);
  });
}

/** An id as given; a name is looked up among the live keys. */
async function keyIdOf(client: ApiClient, nameOrId: string): Promise<string> {
  const listed = await client.listKeys();
  const byName = listed.find((key) => key.name === nameOrId && key.revokedAt === null);
  if (byName) return byName.id;
  if (isKeyId(nameOrId)) return nameOrId;
  throw new Error(`no live key is named "${nameOrId}" (see mcpfleet keys list)`);
}

export function formatKeys(keys: ApiKeyRecord[], now: number = Date.now()): string {
  if (keys.length === 0) return 'No API keys (mcpfleet keys create).\n';
  return formatTable(
    ['NAME', 'ID', 'ROLE', 'SERVERS', 'CREATED', 'EXPIRES', 'LAST-USED', 'REVOKED'],
    keys.map((key) => [
      key.name,
      key.id,
      key.role,
      key.servers?.join(',') ?? '*',
      formatTime(key.createdAt),
      key.expiresAt === null ? 'never' : formatTime(key.expiresAt),
      formatAge(key.lastUsedAt, now),
      key.revokedAt === null ? '-' : formatTime(key.revokedAt),
    ]),
  );
}

function expiry(key: ApiKeyRecord): string {
  return key.expiresAt === null ? ', never expires' : `, expires ${formatTime(key.expiresAt)}`;
}

function parseList(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new InvalidArgumentError('name at least one server.');
  return items;
}

/** "90d" (days), or any duration mcpfleet takes ("12h", "30m"). */
function parseExpiry(value: string): number {
  const days = /^(\d+)d$/.exec(value.trim());
  let ms: number;
  try {
    ms = days ? Number(days[1]) * DAY_MS : parseDuration(value);
  } catch {
    throw new InvalidArgumentError('use a duration like 90d, 12h or 30m.');
  }
  if (ms <= 0) throw new InvalidArgumentError('must be more than 0.');
  return ms;
}
