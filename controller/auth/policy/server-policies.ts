// The gateway's authorization: may this principal use this server, may it call this tool?
// Each server's access block (access-policies.ts) plus the platform policy file is one Cedar
// policy set, parsed once (Cedar's preparsed sets) and evaluated per decision; decisions are
// remembered (decision-cache.ts). A server with no block, when there is no platform file, is
// open without asking Cedar at all: the laptop's path costs nothing.
//
// The anonymous caller (no identity configured) is an ordinary principal of kind "anonymous"
// with no groups, scopes or key name: a server whose block limits who may use it refuses it
// (the refusal says the controller identifies nobody); tool rules apply to it as to anyone.
import type { ServerSpec } from '../../../registry/catalog/spec.ts';
import { describePrincipal, type Principal } from '../principal.ts';
import { accessPolicies, accessPolicyId, limitsTools, limitsWho } from './access-policies.ts';
import { loadCedar, type Cedar } from './cedar.ts';
import { DecisionCache, type PolicyDecision } from './decision-cache.ts';
import {
  CALL_TOOL,
  USE_SERVER,
  action,
  principalEntity,
  principalUid,
  serverEntity,
  serverUid,
  toolEntity,
  toolUid,
} from './entity-model.ts';
import { readPolicyFile } from './platform-policy-file.ts';

export type { PolicyDecision } from './decision-cache.ts';

export interface ServerPoliciesOptions {
  specs: readonly ServerSpec[];
  /** The platform-wide Cedar policy file; refused (PolicyFileError) when it is not valid. */
  policyFile?: string;
  /** Decisions remembered (default 10,000). */
  cacheSize?: number;
  /** The clock cached decisions expire by (tests). */
  now?: () => number;
}

interface CompiledServer {
  slug: string;
  spec: ServerSpec;
  /** Cedar's preparsed policy set; undefined: open (no block, no platform policies). */
  setId: string | undefined;
  /** Cedar holds the set under setId (parsed on the first decision about the server). */
  parsed: boolean;
  server: ReturnType<typeof serverEntity>;
}

const OPEN: PolicyDecision = Object.freeze({ allowed: true, rule: 'open' });
const UNKNOWN: PolicyDecision = Object.freeze({
  allowed: false,
  rule: 'unknown-server',
  reason: 'no such server',
});

/** Preparsed set ids are global to the WebAssembly module: one prefix per instance. */
let instances = 0;

export class ServerPolicies {
  readonly #cache: DecisionCache;
  readonly #platform: Record<string, string>;
  /** The platform file holds policies: every server's set has them, none is open. */
  readonly #hasPlatform: boolean;
  readonly #prefix = `policies-${++instances}`;
  readonly #now: () => number;
  #cedar: Cedar | undefined;
  #servers = new Map<string, CompiledServer>();
  #evaluations = 0;
  #parsed = 0;

  private constructor(platform: Record<string, string>, options: ServerPoliciesOptions) {
    this.#platform = platform;
    this.#hasPlatform = Object.keys(platform).length > 0;
    this.#cache = new DecisionCache(options.cacheSize);
    this.#now = options.now ?? Date.now;
  }

  static async open(options: ServerPoliciesOptions): Promise<ServerPolicies> {
    let platform: Record<string, string> = {};
    if (options.policyFile !== undefined)
      platform = await readPolicyFile(await loadCedar(), options.policyFile);
    const policies = new ServerPolicies(platform, options);
    await policies.apply(options.specs);
    return policies;
  }

  /** The platform file's policy ids (empty without a file). */
  get platformPolicies(): string[] {
    return Object.keys(this.#platform);
  }

  /** Decisions Cedar was asked for (the others came from the cache). */
  get evaluations(): number {
    return this.#evaluations;
  }

  get cachedDecisions(): number {
    return this.#cache.size;
  }

  /** Policy sets handed to Cedar to parse so far (one per server whose block changed). */
  get policySetsParsed(): number {
    return this.#parsed;
  }

  /** Follows a registry change; decisions made under the old policies are forgotten. */
  async apply(specs: readonly ServerSpec[]): Promise<void> {
    const needsCedar = this.#hasPlatform || specs.some((s) => s.access !== undefined);
    if (needsCedar) this.#cedar ??= await loadCedar();
    const servers = new Map<string, CompiledServer>();
    for (const spec of specs) {
      // Parsing a policy set takes ~0.4 ms: a registry change of one server in a thousand
      // parses one, not a thousand, while requests wait on this thread.
      const before = this.#servers.get(spec.slug);
      servers.set(
        spec.slug,
        before && JSON.stringify(before.spec.access) === JSON.stringify(spec.access)
          ? { ...before, spec, server: serverEntity(spec.slug, spec.name) }
          : this.#compile(spec),
      );
    }
    this.#servers = servers;
    this.#cache.clear();
  }

  /** Whether a tools/list answer must be filtered: some tool may be refused on this server. */
  filtersTools(slug: string): boolean {
    const compiled = this.#servers.get(slug);
    if (!compiled || compiled.setId === undefined) return false;
    return limitsTools(compiled.spec.access) || this.#hasPlatform;
  }

  /** May `principal` send requests to server `slug` at all? */
  mayUse(principal: Principal, slug: string): PolicyDecision {
    return this.#ask(principal, slug, undefined);
  }

  /** May `principal` call tool `tool` of server `slug`? Ask mayUse first: this does not. */
  mayCall(principal: Principal, slug: string, tool: string): PolicyDecision {
    return this.#ask(principal, slug, tool);
  }

  /** `tool` undefined: the use_server decision. */
  #ask(principal: Principal, slug: string, tool: string | undefined): PolicyDecision {
    const compiled = this.#servers.get(slug);
    if (!compiled) return UNKNOWN;
    if (compiled.setId === undefined) return OPEN;
    return this.#decide(principal, compiled, tool);
  }

  #compile(spec: ServerSpec): CompiledServer {
    const server = serverEntity(spec.slug, spec.name);
    if (spec.access === undefined && !this.#hasPlatform)
      return { slug: spec.slug, spec, setId: undefined, server, parsed: true };
    return { slug: spec.slug, spec, setId: `${this.#prefix}:${spec.slug}`, server, parsed: false };
  }

  /**
   * Cedar parses a server's set when it is first asked about (~0.4 ms each): a controller of a
   * thousand servers starts without parsing them all, and most are never called by anyone.
   * Undefined when ready; else why not (a bug: the registry checked the block, names are escaped).
   */
  #parse(compiled: CompiledServer): string | undefined {
    if (compiled.parsed) return undefined;
    const { slug, spec } = compiled;
    const staticPolicies = { ...accessPolicies(slug, spec.access), ...this.#platform };
    const answer = this.#cedar!.preparsePolicySet(compiled.setId!, { staticPolicies });
    this.#parsed++;
    if (answer.type === 'failure')
      return `the access policies of server "${slug}" do not parse: ${answer.errors.map((e) => e.message).join('; ')}`;
    compiled.parsed = true;
    return undefined;
  }

  #decide(
    principal: Principal,
    compiled: CompiledServer,
    tool: string | undefined,
  ): PolicyDecision {
    const key = this.#cache.key(principal, compiled.slug, tool);
    const cached = this.#cache.get(key, this.#now());
    if (cached) return cached;
    const decision = this.#evaluate(principal, compiled, tool);
    this.#cache.set(key, decision, principal);
    return decision;
  }

  #evaluate(
    principal: Principal,
    compiled: CompiledServer,
    tool: string | undefined,
  ): PolicyDecision {
    const unparsed = this.#parse(compiled);
    if (unparsed !== undefined) return { allowed: false, rule: 'error', reason: unparsed };
    this.#evaluations++;
    const { slug } = compiled;
    const entities = [principalEntity(principal), compiled.server];
    if (tool !== undefined) entities.push(toolEntity(slug, tool));
    const answer = this.#cedar!.statefulIsAuthorized({
      principal: principalUid(principal),
      action: action(tool === undefined ? USE_SERVER : CALL_TOOL),
      resource: tool === undefined ? serverUid(slug) : toolUid(slug, tool),
      context: {},
      preparsedPolicySetId: compiled.setId!,
      entities,
    });
    if (answer.type === 'failure')
      return {
        allowed: false,
        rule: 'error',
        reason: `the policy engine could not decide: ${answer.errors.map((e) => e.message).join('; ')}`,
      };
    const { decision, diagnostics } = answer.response;
    const rule = diagnostics.reason.join(', ');
    if (decision === 'allow') return { allowed: true, rule };
    const forbids = diagnostics.reason;
    return tool === undefined
      ? this.#serverRefusal(principal, compiled, forbids)
      : this.#toolRefusal(compiled, tool, forbids);
  }

  #serverRefusal(
    principal: Principal,
    { slug, spec }: CompiledServer,
    forbids: readonly string[],
  ): PolicyDecision {
    const who = describePrincipal(principal);
    if (forbids.length > 0)
      return {
        allowed: false,
        rule: forbids.join(', '),
        reason: `${who} may not use server "${slug}": forbidden by policy ${forbids.join(', ')}`,
      };
    const rule = accessPolicyId.use(slug);
    if (principal.kind === 'anonymous' && limitsWho(spec.access))
      return {
        allowed: false,
        rule,
        reason:
          `server "${slug}" admits only the groups, scopes or API keys its access block names, ` +
          'and this controller identifies nobody (no --auth-issuer, no API keys): every caller is anonymous',
      };
    const scopes = principal.kind === 'token' ? spec.access?.scopes : undefined;
    return {
      allowed: false,
      rule,
      reason: `${who} is not among the groups, scopes and API keys that server "${slug}" admits`,
      ...(scopes ? { scopes } : {}),
    };
  }

  #toolRefusal({ slug }: CompiledServer, tool: string, forbids: readonly string[]): PolicyDecision {
    const denied = accessPolicyId.deny(slug);
    if (forbids.length === 1 && forbids[0] === denied)
      return {
        allowed: false,
        rule: denied,
        reason: `tool "${tool}" of server "${slug}" is denied (its access.tools.deny)`,
      };
    if (forbids.length > 0)
      return {
        allowed: false,
        rule: forbids.join(', '),
        reason: `tool "${tool}" of server "${slug}" is forbidden by policy ${forbids.join(', ')}`,
      };
    return {
      allowed: false,
      rule: accessPolicyId.allow(slug),
      reason: `tool "${tool}" is not among the tools server "${slug}" allows (its access.tools.allow)`,
    };
  }
}
