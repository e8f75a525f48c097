// A failure a person can act on (not a git repository, an unknown base, no stack file): the CLI
// prints its message as it is, without a stack trace.
export class ReviewError extends Error {
  override name = 'ReviewError';
}
