// How `registry check` prints what it found: for a terminal (one located line per problem,
// warnings apart, a summary), for GitHub (workflow commands that GitHub turns into
// annotations on the pull request's diff), or as JSON for scripts.
import type { Problem, RegistryResult } from '../../registry/catalog/index.ts';

export const REPORT_FORMATS = ['text', 'github', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Errors and warnings as this run judges them: `--strict` makes every warning an error. */
export function verdict(
  result: RegistryResult,
  strict: boolean,
): { errors: Problem[]; warnings: Problem[] } {
  return strict
    ? { errors: [...result.problems, ...result.warnings], warnings: [] }
    : { errors: result.problems, warnings: result.warnings };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function summaryLine(result: RegistryResult, strict: boolean): string {
  const { errors, warnings } = verdict(result, strict);
  const servers = plural(result.checked, 'server');
  const warned = warnings.length ? `, ${plural(warnings.length, 'warning')}` : '';
  return errors.length === 0
    ? `ok: ${servers} valid${warned}`
    : `${plural(errors.length, 'problem')} in ${servers}${warned}`;
}

// GitHub workflow commands: data escapes %, CR and LF; property values also ":" and ",".
// https://docs.github.com/actions/reference/workflow-commands-for-github-actions
function escapeData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}
function escapeProperty(text: string): string {
  return escapeData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

export function githubAnnotation(level: 'error' | 'warning', problem: Problem): string {
  const properties = [`file=${escapeProperty(problem.file)}`];
  if (problem.line !== undefined) {
    properties.push(`line=${problem.line}`, `col=${problem.column ?? 1}`);
  }
  properties.push(`title=${escapeProperty(`mcpfleet registry check: ${problem.path}`)}`);
  return `::${level} ${properties.join(',')}::${escapeData(problem.message)}`;
}

/** The whole report, ready to print. */
export function renderReport(
  result: RegistryResult,
  format: ReportFormat,
  strict: boolean,
  formatProblem: (problem: Problem) => string,
): string {
  const { errors, warnings } = verdict(result, strict);
  switch (format) {
    case 'json':
      return `${JSON.stringify({ ok: errors.length === 0, checked: result.checked, errors, warnings }, null, 2)}\n`;
    case 'github':
      return [
        ...errors.map((p) => githubAnnotation('error', p)),
        ...warnings.map((p) => githubAnnotation('warning', p)),
        summaryLine(result, strict),
      ]
        .map((line) => `${line}\n`)
        .join('');
    case 'text':
      return [
        ...errors.map(formatProblem),
        ...warnings.map((p) => `warning: ${formatProblem(p)}`),
        summaryLine(result, strict),
      ]
        .map((line) => `${line}\n`)
        .join('');
  }
}
