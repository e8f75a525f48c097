// Reviewing a registry change by what it does: `mcpfleet registry diff`.
export { registryDiff, DIFF_SCHEMA, type RegistryDiff, type DiffOptions } from './review.ts';
export { renderMarkdown, MARKDOWN_LIMIT } from './markdown.ts';
export { ReviewError } from './review-error.ts';
export type { Change, FieldDiff, ObjectDiff, ServerDiff } from './compare.ts';
