// The registry diff as a pull-request comment: a summary line, a table of the servers the
// change adds, changes and removes, and per server its Kubernetes objects and changed fields in
// a collapsed <details>. Kept under GitHub's comment limit: past it the YAML of added objects is
// left out first, then whole servers, each time saying so.
import { stringify } from 'yaml';
import { formatProblem } from '../catalog/index.ts';
import type { Problem } from '../catalog/spec.ts';
import type { Change, ObjectDiff, ServerDiff } from './compare.ts';
import type { RegistryDiff } from './review.ts';

/** GitHub refuses comments over 65,536 characters; the rest is room for the truncation note. */
export const MARKDOWN_LIMIT = 60_000;
const VALUE_LIMIT = 160;

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '&#124;');
}

/** Inline code that survives tables and any content: <code> with HTML escapes, not backticks. */
function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

/** A field value as JSON (so "1" and 1 differ), cut short; absent as an em dash. */
function value(field: { base?: unknown; head?: unknown }, side: 'base' | 'head'): string {
  if (!(side in field)) return '—';
  const text = JSON.stringify(field[side]) ?? String(field[side]);
  return code(text.length > VALUE_LIMIT ? `${text.slice(0, VALUE_LIMIT)}…` : text);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function counts(of: Record<Change, number>): string {
  const parts = (['added', 'changed', 'removed'] as const)
    .filter((change) => of[change] > 0)
    .map((change) => `${of[change]} ${change}`);
  return parts.length ? parts.join(', ') : 'none';
}

function objectCounts(objects: readonly ObjectDiff[]): Record<Change, number> {
  const result: Record<Change, number> = { added: 0, changed: 0, removed: 0 };
  for (const object of objects) result[object.change]++;
  return result;
}

function version(server: ServerDiff): string {
  const { base, head } = server.version;
  if (base !== undefined && head !== undefined && base !== head) {
    return `${code(base)} → ${code(head)}`;
  }
  const known = head ?? base;
  return known === undefined ? '—' : code(known);
}

function problemList(title: string, problems: readonly Problem[]): string {
  const items = problems.map((p) => `- ${code(formatProblem(p))}`).join('\n');
  return `<details>\n<summary>${title}</summary>\n\n${items}\n\n</details>\n`;
}

/** A fence no backtick run inside the text can close. */
function fenced(language: string, text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${language}\n${text.trimEnd()}\n${fence}`;
}

function objectSection(object: ObjectDiff, withYaml: boolean): string {
  const where = object.namespace === undefined ? '' : `, namespace ${code(object.namespace)}`;
  const title = `**${object.kind} ${code(object.name)}** (${code(object.apiVersion)}${where}) ${object.change}`;
  if (object.change === 'changed') {
    const rows = object.fields.map(
      (f) => `| ${code(f.path)} | ${value(f, 'base')} | ${value(f, 'head')} |`,
    );
    return `${title}:\n\n| Field | Base | Head |\n| --- | --- | --- |\n${rows.join('\n')}\n`;
  }
  if (object.change === 'added' && withYaml && object.object !== undefined) {
    return `${title}:\n\n${fenced('yaml', stringify(object.object, { lineWidth: 0, aliasDuplicateObjects: false }))}\n`;
  }
  return `${title}\n`;
}

function serverSection(server: ServerDiff, stack: string, withYaml: boolean): string {
  const parts: string[] = [];
  if (server.problems.head.length) {
    parts.push(
      problemList(
        `Does not compile here (${plural(server.problems.head.length, 'problem')})`,
        server.problems.head,
      ),
    );
  }
  if (server.problems.base.length) {
    parts.push(
      problemList(
        `Did not compile on the base (${plural(server.problems.base.length, 'problem')})`,
        server.problems.base,
      ),
    );
  }
  if (!server.compared) {
    parts.push('Its Kubernetes objects are not compared until both sides compile.\n');
  } else if (server.objects.length === 0) {
    parts.push(`No change to the Kubernetes objects of stack ${code(stack)}.\n`);
  }
  for (const object of server.objects) parts.push(objectSection(object, withYaml));
  const names = server.objects.map((o) => `${o.kind} ${o.name}`);
  const summary = `${code(server.slug)} ${server.status}${names.length ? `: ${escapeHtml(names.join(', '))}` : ''}`;
  return `<details>\n<summary>${summary}</summary>\n\n${parts.join('\n')}\n</details>\n`;
}

function tableRow(server: ServerDiff): string {
  const name = server.name === undefined ? '' : ` ${code(server.name)}`;
  const objects = server.compared ? counts(objectCounts(server.objects)) : 'not compared';
  return `| ${code(server.slug)}${name} | ${server.status} | ${version(server)} | ${objects} |\n`;
}

/** The comment as chunks: cutting between two chunks leaves valid Markdown. */
function chunks(diff: RegistryDiff, withYaml: boolean): string[] {
  const { summary } = diff;
  const changed = summary.servers.added + summary.servers.changed + summary.servers.removed;
  const title =
    changed === 0
      ? 'no server changes'
      : `${counts(summary.servers)} (${plural(changed, 'server')})`;
  const out: string[] = [
    `### Registry diff: ${title}\n\n`,
    `Compared with ${code(diff.base.ref)} (merge base ${code(diff.base.commit.slice(0, 12))}) ` +
      `on stack ${code(diff.stack)}; Kubernetes objects: ${counts(summary.objects)}.\n\n`,
  ];
  if (diff.head.problems.length) {
    out.push(
      `> [!WARNING]\n> **This change does not compile** (${plural(diff.head.problems.length, 'problem')}): ` +
        '`pulumi up` refuses a registry with problems; `npx mcpfleet registry check` lists them.\n\n',
    );
  }
  if (diff.base.problems.length) {
    out.push(
      `> [!NOTE]\n> **The base does not compile** (${plural(diff.base.problems.length, 'problem')}): ` +
        'its broken servers are listed, not compared; everything else is.\n\n',
    );
  }
  if (diff.servers.length) {
    out.push('| Server | Change | Version | Kubernetes objects |\n| --- | --- | --- | --- |\n');
    for (const server of diff.servers) out.push(tableRow(server));
    out.push('\n');
  }
  for (const server of diff.servers) out.push(`${serverSection(server, diff.stack, withYaml)}\n`);
  if (diff.platform.length) {
    const sections = diff.platform.map((object) => objectSection(object, withYaml)).join('\n');
    out.push(
      `<details>\n<summary>Platform objects: ${escapeHtml(diff.platform.map((o) => `${o.kind} ${o.name}`).join(', '))}</summary>\n\n${sections}\n</details>\n\n`,
    );
  }
  return out;
}

export function renderMarkdown(diff: RegistryDiff, limit = MARKDOWN_LIMIT): string {
  const full = chunks(diff, true).join('');
  if (full.length <= limit) return full;
  const render = code(`npx mcpfleet registry render --stack ${diff.stack}`);
  const lean = chunks(diff, false);
  const withoutYaml = `_The YAML of added objects is left out to fit a comment: ${render} prints it._\n`;
  if (lean.join('').length + withoutYaml.length <= limit) return lean.join('') + withoutYaml;
  const json = code(`npx mcpfleet registry diff --stack ${diff.stack} --format json`);
  const cut = `\n_Cut short to fit a comment: ${json} has every server and object._\n`;
  let text = '';
  for (const chunk of lean) {
    if (text.length + chunk.length + cut.length > limit) break;
    text += chunk;
  }
  return text + cut;
}
