// One container of a pod over its lifetime: resolve its config, start an instance, probe it,
// record how it ended, and restart it per the restart policy with CrashLoopBackOff. Its status()
// is the API ContainerStatus (state, lastState, restartCount, ready, started, containerID).
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IContainerState } from 'kubernetes-models/v1/ContainerState';
import type { IContainerStatus } from 'kubernetes-models/v1/ContainerStatus';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CrashLoopBackoff, goDuration, type BackoffSettings } from './backoff.ts';
import { ContainerLog } from './container-log.ts';
import type { ContainerProcessSpec, ContainerStarter, ImageConfig } from './container-starter.ts';
import { ContainerConfigError } from './env.ts';
import { runAction, type ActionTarget } from './handlers.ts';
import type { Logger } from './logger.ts';
import { startProbeWorker, type ProbeWorker } from './probes.ts';

/** The image could not be resolved: the container waits with ErrImagePull / ImagePullBackOff. */
export class ImagePullError extends Error {}

export type ContainerKind = 'init' | 'sidecar' | 'regular';
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PreparedContainer {
  image: ImageConfig;
  spec: Omit<ContainerProcessSpec, 'stdout' | 'stderr'>;
}

export interface ContainerRunnerContext {
  /** e.g. "name_namespace(uid)", for messages. */
  podLabel: string;
  restartPolicy: RestartPolicy;
  /** Default grace for kills that are not a pod deletion (liveness failure). */
  terminationGracePeriodMs: () => number;
  starter: ContainerStarter;
  podIP: () => string;
  /** Image + process spec (env, argv, mounts); throws ContainerConfigError and friends. */
  prepare(container: IContainer): Promise<PreparedContainer>;
  logPath(container: string, restartCount: number): string;
  backoff: BackoffSettings;
  probeTimeScale: number;
  logger: Logger;
  onChange(): void;
  /** Records a pod Event about this container (Created, Started, BackOff, Unhealthy...). */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

interface Instance {
  child: ChildProcess;
  pid: number;
  spec: ContainerProcessSpec;
  image: ImageConfig;
  startedAt: number;
  containerID: string;
  logPath: string;
  exited: Promise<{ exitCode: number; signal: string | null }>;
}

/** How long an exited container's output may still be arriving (a daemon may hold its pipe). */
const LOG_DRAIN_MS = 1_000;

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal ? os.constants.signals[signal] : undefined;
  return 128 + (number ?? 9);
}

/**
 * Signals the process group led by pid; when there is none (the process is not, or not yet, a
 * group leader) and orProcess, the process itself. Never for pid <= 0 (kill(2) semantics).
 */
function signalGroup(pid: number, signal: NodeJS.Signals, orProcess: boolean): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    if (!orProcess) return;
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

function tailOfLog(file: string, maxLines = 80, maxBytes = 2048): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.trimEnd().split('\n').slice(-maxLines).join('\n');
    return lines.length > maxBytes ? lines.slice(-maxBytes) : lines;
  } catch {
    return '';
  }
}

export class ContainerRunner {
  readonly container: IContainer;
  readonly kind: ContainerKind;
  restartCount = 0;
  ready = false;
  started = false;
  private state: IContainerState;
  private lastState: IContainerState = {};
  private imageID = '';
  private containerID: string | undefined;
  private instance: Instance | undefined;
  private probes: ProbeWorker[] = [];
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private nudgeable = false;
  private readonly ctx: ContainerRunnerContext;
  private readonly backoff: CrashLoopBackoff;
  private loop: Promise<'succeeded' | 'failed' | 'stopped'> | undefined;
  private startedWaiters: (() => void)[] = [];
  private killReason: string | undefined;
  private lastLogPath: string | undefined;

  constructor(
    container: IContainer,
    kind: ContainerKind,
    ctx: ContainerRunnerContext,
    defaultWaitingReason: string,
  ) {
    this.container = container;
    this.kind = kind;
    this.ctx = ctx;
    this.backoff = new CrashLoopBackoff(ctx.backoff);
    this.state = { waiting: { reason: defaultWaitingReason } };
  }

  get name(): string {
    return this.container.name;
  }

  /** Starts the lifecycle; resolves when it ends for good (completed, failed, or stopped). */
  run(): Promise<'succeeded' | 'failed' | 'stopped'> {
    this.loop ??= this.lifecycle();
    return this.loop;
  }

  /** Resolves once the container has started (startup probe passed) or the lifecycle ended. */
  whenStarted(): Promise<void> {
    if (this.started || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.startedWaiters.push(resolve));
  }

  /** Retries now a start that waits on config (a ConfigMap/Secret appeared); not a back-off. */
  nudge(): void {
    if (this.nudgeable) this.wakeUp?.();
  }

  get pid(): number | undefined {
    return this.instance?.pid;
  }

  /** The log file of the current or last instance. */
  get logPath(): string | undefined {
    return this.lastLogPath;
  }

  get running(): boolean {
    return this.instance !== undefined;
  }

  status(): IContainerStatus {
    const status: IContainerStatus = {
      name: this.name,
      image: this.container.image ?? '',
      imageID: this.imageID,
      ready: this.ready,
      restartCount: this.restartCount,
      started: this.started,
      state: this.state,
      lastState: this.lastState,
    };
    if (this.containerID) status.containerID = this.containerID;
    return status;
  }

  /** Terminal state of a finished init container, for the pod's phase. */
  exitCode(): number | undefined {
    return this.state.terminated?.exitCode;
  }

  private setState(state: IContainerState): void {
    this.state = state;
    this.ctx.onChange();
  }

  private markStarted(): void {
    this.started = true;
    if (!this.container.readinessProbe) this.ready = true;
    for (const waiter of this.startedWaiters.splice(0)) waiter();
    this.ctx.onChange();
  }

  /** Sleeps; stop() always ends it early, nudge() only when nudgeable. */
  private sleep(ms: number, nudgeable = false): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
      this.nudgeable = nudgeable;
    }).then(() => {
      this.wakeUp = undefined;
      this.nudgeable = false;
    });
  }

  private shouldRestart(exitCode: number): boolean {
    if (this.kind === 'sidecar') return true;
    if (this.kind === 'init') return exitCode !== 0 && this.ctx.restartPolicy !== 'Never';
    if (this.ctx.restartPolicy === 'Always') return true;
    return this.ctx.restartPolicy === 'OnFailure' && exitCode !== 0;
  }

  private async lifecycle(): Promise<'succeeded' | 'failed' | 'stopped'> {
    let pullFailures = 0;
    let lastError = '';
    for (;;) {
      if (this.stopping) return 'stopped';
      let prepared: PreparedContainer;
      try {
        prepared = await this.ctx.prepare(this.container);
        pullFailures = 0;
        if (this.stopping) return 'stopped';
      } catch (err) {
        if (this.stopping) return 'stopped';
        const message = String((err as Error).message ?? err);
        const pull = err instanceof ImagePullError;
        const reason =
          err instanceof ContainerConfigError
            ? 'CreateContainerConfigError'
            : pull
              ? pullFailures++ > 0
                ? 'ImagePullBackOff'
                : 'ErrImagePull'
              : 'CreateContainerError';
        if (message !== lastError) {
          this.ctx.logger.warn(
            `${this.ctx.podLabel} container ${this.name}: ${reason}: ${message}`,
          );
          lastError = message;
        }
        this.ctx.event('Warning', 'Failed', `Error: ${message}`);
        this.setState({ waiting: { reason, message } });
        if (pull) {
          await this.sleep(
            Math.min(this.ctx.backoff.initialMs * 2 ** pullFailures, this.ctx.backoff.maxMs),
          );
        } else await this.sleep(1_000, true);
        continue;
      }

      const result = await this.runInstance(prepared);
      if (result === 'start-failed') {
        if (this.stopping) return 'stopped';
        await this.sleep(this.ctx.backoff.initialMs);
        continue;
      }
      const { exitCode, finishedAt } = result;
      if (this.stopping) return 'stopped';
      if (!this.shouldRestart(exitCode)) return exitCode === 0 ? 'succeeded' : 'failed';

      const delay = this.backoff.delayMs(finishedAt);
      if (delay > 0) {
        const window = goDuration(this.backoff.windowMs());
        this.lastState = this.state;
        this.ctx.event(
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${this.name} in pod ${this.ctx.podLabel}`,
        );
        this.setState({
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off ${window} restarting failed container=${this.name} pod=${this.ctx.podLabel}`,
          },
        });
        await this.sleep(delay);
        if (this.stopping) return 'stopped';
      }
      this.backoff.next(finishedAt);
      if (delay === 0) this.lastState = this.state;
      this.restartCount++;
    }
  }

  private async runInstance(
    prepared: PreparedContainer,
  ): Promise<{ exitCode: number; finishedAt: number } | 'start-failed'> {
    const logPath = this.ctx.logPath(this.name, this.restartCount);
    this.lastLogPath = logPath;
    fs.mkdirSync(path.dirname(logPath), { recursive: true });
    const log = new ContainerLog(logPath);
    const containerID = `mcpfleet://${randomBytes(32).toString('hex')}`;
    const spec: ContainerProcessSpec = { ...prepared.spec, stdout: 'pipe', stderr: 'pipe' };
    let child: ChildProcess;
    this.ctx.event(
      'Normal',
      'Pulled',
      `Container image "${this.container.image}" already present on machine`,
    );
    try {
      child = this.ctx.starter.start(prepared.image, spec);
    } catch (err) {
      log.close();
      this.ctx.event('Warning', 'Failed', `Error: ${String(err)}`);
      this.setState({ waiting: { reason: 'RunContainerError', message: String(err) } });
      return 'start-failed';
    }
    this.ctx.event('Normal', 'Created', `Created container: ${this.name}`);
    this.ctx.event('Normal', 'Started', `Started container ${this.name}`);
    log.attach(child.stdout, 'stdout');
    log.attach(child.stderr, 'stderr');
    const exited = new Promise<{ exitCode: number; signal: string | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ exitCode: exitCodeOf(code, signal), signal }));
      child.once('error', (err) => {
        log.note(`process kubelet: failed to start: ${String(err)}`);
        resolve({ exitCode: 128, signal: null });
      });
    });
    const startedAt = Date.now();
    const instance: Instance = {
      child,
      pid: child.pid ?? -1,
      spec,
      image: prepared.image,
      startedAt,
      containerID,
      logPath,
      exited,
    };
    this.instance = instance;
    this.imageID = prepared.image.imageID;
    this.containerID = containerID;
    this.killReason = undefined;
    this.started = false;
    this.ready = false;
    this.setState({ running: { startedAt: iso(startedAt) } });
    this.ctx.logger.debug(`${this.ctx.podLabel} container ${this.name} started`, {
      pid: instance.pid,
      argv: spec.argv,
      log: logPath,
    });

    const target: ActionTarget = {
      container: this.container,
      podIP: this.ctx.podIP(),
      exec: (argv, timeoutMs) =>
        this.ctx.starter.exec(prepared.image, { pid: instance.pid, spec }, argv, timeoutMs),
    };
    const postStart = this.container.lifecycle?.postStart;
    let postStartFailed = false;
    if (postStart) {
      const hook = await Promise.race([
        runAction(postStart, target, this.ctx.terminationGracePeriodMs()),
        exited.then(() => ({ success: true, message: '' })),
      ]);
      if (!hook.success) {
        postStartFailed = true;
        this.ctx.event('Warning', 'FailedPostStartHook', `PostStartHook failed: ${hook.message}`);
        this.ctx.logger.warn(
          `${this.ctx.podLabel} container ${this.name}: PostStartHookError: ${hook.message}`,
        );
        void this.killInstance(instance, this.ctx.terminationGracePeriodMs());
      }
    }
    if (!postStartFailed) this.startProbes(instance, target);

    const { exitCode } = await exited;
    const finishedAt = Date.now();
    for (const probe of this.probes.splice(0)) probe.stop();
    signalGroup(instance.pid, 'SIGKILL', false); // the rest of the container's process group
    await log.drained(LOG_DRAIN_MS);
    log.close();
    this.instance = undefined;
    this.started = false;
    this.ready = false;
    const terminated: NonNullable<IContainerState['terminated']> = {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: iso(startedAt),
      finishedAt: iso(finishedAt),
      containerID,
    };
    if (exitCode !== 0 && this.container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      const tail = tailOfLog(logPath);
      if (tail) terminated.message = tail;
    }
    if (exitCode !== 0 && !this.stopping) {
      this.ctx.logger.warn(
        `${this.ctx.podLabel} container ${this.name} exited ${exitCode}` +
          `${this.killReason ? ` (${this.killReason})` : ''}; logs: ${logPath}`,
      );
    }
    for (const waiter of this.startedWaiters.splice(0)) waiter();
    this.setState({ terminated });
    return { exitCode, finishedAt };
  }

  private startProbes(instance: Instance, target: ActionTarget): void {
    const { startupProbe, livenessProbe, readinessProbe } = this.container;
    const common = { target, startedAt: instance.startedAt, timeScale: this.ctx.probeTimeScale };
    const startOthers = (): void => {
      this.markStarted();
      if (readinessProbe) {
        this.probes.push(
          startProbeWorker({
            ...common,
            kind: 'readiness',
            probe: readinessProbe,
            onResult: (success, message) => {
              if (this.instance !== instance) return;
              this.ctx.logger.debug(
                `${this.ctx.podLabel} container ${this.name} readiness: ${success} ${message}`,
              );
              if (!success)
                this.ctx.event('Warning', 'Unhealthy', `Readiness probe failed: ${message}`);
              this.ready = success;
              this.ctx.onChange();
            },
          }),
        );
      }
      if (livenessProbe) {
        this.probes.push(
          startProbeWorker({
            ...common,
            kind: 'liveness',
            probe: livenessProbe,
            onResult: (success, message) => {
              if (success || this.instance !== instance) return;
              this.killReason = `failed liveness probe: ${message}`;
              this.ctx.event('Warning', 'Unhealthy', `Liveness probe failed: ${message}`);
              this.ctx.event(
                'Normal',
                'Killing',
                `Container ${this.name} failed liveness probe, will be restarted`,
              );
              this.ctx.logger.info(
                `${this.ctx.podLabel} container ${this.name} ${this.killReason}, will be restarted`,
              );
              const grace = livenessProbe.terminationGracePeriodSeconds;
              void this.killInstance(
                instance,
                grace !== undefined ? grace * 1000 : this.ctx.terminationGracePeriodMs(),
              );
            },
          }),
        );
      }
    };
    if (!startupProbe) {
      startOthers();
      return;
    }
    this.probes.push(
      startProbeWorker({
        ...common,
        kind: 'startup',
        probe: startupProbe,
        onResult: (success, message) => {
          if (this.instance !== instance) return;
          if (success) startOthers();
          else {
            this.killReason = `failed startup probe: ${message}`;
            this.ctx.event('Warning', 'Unhealthy', `Startup probe failed: ${message}`);
            const grace = startupProbe.terminationGracePeriodSeconds;
            void this.killInstance(
              instance,
              grace !== undefined ? grace * 1000 : this.ctx.terminationGracePeriodMs(),
            );
          }
        },
      }),
    );
  }

  /** SIGTERM the instance's process group, SIGKILL after graceMs; resolves once it exited. */
  private async killInstance(instance: Instance, graceMs: number): Promise<void> {
    const signal = (name: NodeJS.Signals): void => signalGroup(instance.pid, name, true);
    signal('SIGTERM');
    const killed = await Promise.race([
      instance.exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), Math.max(0, graceMs))),
    ]);
    if (killed) signal('SIGKILL');
    await instance.exited;
  }

  /**
   * Stops the container for good (pod deletion or kubelet stop): preStop hook, then SIGTERM,
   * SIGKILL once the grace period is over. Resolves when the lifecycle has ended.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    for (const waiter of this.startedWaiters.splice(0)) waiter();
    const instance = this.instance;
    if (instance) {
      this.ctx.event('Normal', 'Killing', `Stopping container ${this.name}`);
      const deadline = Date.now() + graceMs;
      const preStop = this.container.lifecycle?.preStop;
      if (preStop) {
        const target: ActionTarget = {
          container: this.container,
          podIP: this.ctx.podIP(),
          exec: (argv, timeoutMs) =>
            this.ctx.starter.exec(
              instance.image,
              { pid: instance.pid, spec: instance.spec },
              argv,
              timeoutMs,
            ),
        };
        await Promise.race([runAction(preStop, target, Math.max(1, graceMs)), instance.exited]);
      }
      // kubelet gives at least 2 s after the hook (minimumGracePeriodInSeconds).
      await this.killInstance(instance, Math.max(deadline - Date.now(), Math.min(graceMs, 2_000)));
    } else if (this.state.waiting) {
      // Never started (or between restarts): nothing to kill.
      this.ctx.onChange();
    }
    await this.loop;
  }
}
