// Who may use a server and which of its tools, under `_meta["dev.mcpfleet/v1"].access`:
// reviewed in the same pull request as the server. The controller turns it into Cedar
// policies (controller/auth/policy/); this is only its shape, with messages that say the fix.
//
//   "access": {
//     "groups": ["platform-team"],     a token whose groups claim holds one of these
//     "scopes": ["github:write"],      a token granted one of these scopes
//     "keys":   ["ci-bot*"],           an API key of one of these names (mcpfleet keys --name)
//     "tools":  { "allow": ["get_*", "search"], "deny": ["delete_*"] }
//   }
//
// groups, scopes and keys say who may use the server: anyone who matches one entry of any of
// them (none given: everyone the gateway admits). tools say which tools they may call: those
// matching `allow` (absent: all), minus those matching `deny` (deny wins). Key names and tool
// names may be patterns, where `*` stands for any run of characters.
import { z } from 'zod';

/**
 * An API key name as `mcpfleet keys create --name` accepts it (controller/api/key-routes.ts),
 * or a pattern with `*`: key names are unique, so a rotation makes `ci-bot-2026-12` beside
 * `ci-bot`, and `ci-bot*` admits both without editing the block.
 */
const KEY_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9._*-]{0,62}$/;
/** RFC 6749 scope-token characters: printable ASCII but space, `"` and `\`. */
const SCOPE_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Printable text: a claim value from an identity provider may hold spaces, slashes, commas. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const PRINTABLE = /^[^\x00-\x1f\x7f]+$/;
/** A tool name (MCP: letters, digits, `_`, `-`, `.`; some servers use `/`), or one with `*`. */
const TOOL_PATTERN = /^[A-Za-z0-9_.\-/*]{1,128}$/;

/** A non-empty list without repeats: an empty one would mean "nobody" by accident. */
function list(item: z.ZodString, what: string, leaveOut: string) {
  return z
    .array(item)
    .min(1, `an empty list names no ${what}: list at least one, or leave "${leaveOut}" out`)
    .superRefine((values, ctx) => {
      values.forEach((value, i) => {
        if (values.indexOf(value) !== i)
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `"${value}" is listed twice: remove one`,
          });
      });
    });
}

/** A string matching `pattern`; the message quotes the value and says what would do. */
function matching(pattern: RegExp, what: string) {
  return z.string().regex(pattern, {
    error: (issue) => `${JSON.stringify(issue.input)} is not ${what}`,
  });
}

const group = z
  .string()
  .min(1, 'a group name cannot be empty')
  .max(256, 'a group name is at most 256 characters')
  .regex(PRINTABLE, 'a group name cannot hold control characters (tabs, newlines)');
const scope = matching(
  SCOPE_PATTERN,
  'an OAuth scope: write one like "mcp" or "github:write" (no spaces, quotes or backslashes)',
);
const key = matching(
  KEY_PATTERN,
  'an API key name: write the --name given to "mcpfleet keys create" (letters, digits, ".", "_", "-"; at most 63), or a pattern like "ci-bot*"',
);
const tool = matching(
  TOOL_PATTERN,
  'a tool name or pattern: write a name like "search" or a pattern like "get_*" ("*" is any characters), of letters, digits, "_", "-", ".", "/"',
);

export const AccessSchema = z
  .strictObject({
    /** Token group claim values (the claim --role-claim names): one of them admits. */
    groups: list(group, 'group', 'groups').optional(),
    /** OAuth scopes: a token granted one of them is admitted. */
    scopes: list(scope, 'scope', 'scopes').optional(),
    /** API key names or patterns ("ci-bot*"): a key whose name matches one is admitted. */
    keys: list(key, 'key', 'keys').optional(),
    tools: z
      .strictObject({
        /** Only tools matching one of these may be called (absent: every tool). */
        allow: list(tool, 'tool', 'allow').optional(),
        /** Tools matching one of these may not be called, even when allowed. */
        deny: list(tool, 'tool', 'deny').optional(),
      })
      .superRefine((tools, ctx) => {
        (tools.allow ?? []).forEach((pattern, i) => {
          if (tools.deny?.includes(pattern))
            ctx.addIssue({
              code: 'custom',
              path: ['allow', i],
              message: `"${pattern}" is both allowed and denied (deny wins): remove it from one`,
            });
        });
      })
      .optional(),
  })
  .optional();
export type AccessSettings = NonNullable<z.infer<typeof AccessSchema>>;
