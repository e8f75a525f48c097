// The bridge proves once that its server can initialize, and remembers it. The proof is a
// real initialize of a child of its own (initialize-check.ts); what it proves — this command,
// in this pod, answers initialize — holds for the bridge's life, so later readiness questions
// (a second controller replica probing the pod, a health check) are answered from it instead
// of each starting, initializing and stopping one more process. The bridge starts the proof
// when it starts listening, so in a cluster it overlaps the pod's own start: by the time a
// controller asks, the answer is usually there. A failed proof is not remembered: the next
// question tries again (the server may have been waiting on something it needed).
import { checkDeadline, type InitializeCheck } from './initialize-check.ts';

/** Runs one check; its own time limit, independent of whoever is waiting for it. */
export type RunCheck = (timeoutMs: number) => Promise<InitializeCheck>;

/** The check's own limit when the bridge starts it before anyone asks. */
export const DEFAULT_PROOF_TIMEOUT_MS = 10_000;

export class ReadinessProof {
  readonly #run: RunCheck;
  #proven = false;
  #inFlight: Promise<InitializeCheck> | undefined;

  constructor(run: RunCheck) {
    this.#run = run;
  }

  /** Starts the proof if none is known or under way (the bridge's start calls this). */
  begin(timeoutMs = DEFAULT_PROOF_TIMEOUT_MS): Promise<InitializeCheck> {
    if (this.#proven) return Promise.resolve({ ok: true });
    this.#inFlight ??= this.#run(timeoutMs).then(
      (check) => {
        this.#inFlight = undefined;
        if (check.ok) this.#proven = true;
        return check;
      },
      (err: unknown) => {
        this.#inFlight = undefined;
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      },
    );
    return this.#inFlight;
  }

  /**
   * The answer for one caller, within its own `timeoutMs` and `signal`: at once once proven;
   * else the proof under way, or a new one with the caller's limit. A caller that gives up
   * does not cancel the proof others wait for.
   */
  async answer(timeoutMs: number, signal: AbortSignal): Promise<InitializeCheck> {
    if (this.#proven) return { ok: true };
    const deadline = checkDeadline(timeoutMs, signal, () => 'initialize');
    try {
      return await Promise.race([this.begin(timeoutMs), deadline.gaveUp]);
    } finally {
      deadline.clear();
    }
  }

  /** Whether a proof succeeded (for tests and the bridge's status). */
  get proven(): boolean {
    return this.#proven;
  }
}
