// `mcpfleet serve` flags for who may call (issue 10, controller/auth/): the identity
// provider(s) whose access tokens are accepted, how their claims become management roles,
// the scopes a token needs, and the explicit choice of an open controller.
import { Option, type Command } from 'commander';
import { checkIssuer, parseRoleMap, type AuthSettings } from '../../auth/auth-settings.ts';
import { parser } from '../option-parser.ts';

export interface AuthFlags {
  authIssuer?: string[];
  authAudience?: string;
  authScope?: string[];
  roleClaim?: string;
  roleMap?: AuthSettings['roleMap'];
  insecureNoAuth?: boolean;
  policyFile?: string;
}

/** Repeated flags and comma lists both add up (--auth-issuer a --auth-issuer b,c). */
function collect(check: (value: string) => string) {
  return (text: string, previous: string[] | undefined): string[] =>
    parser((t: string) => [
      ...(previous ?? []),
      ...t
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map(check),
    ])(text);
}

export function addAuthOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--auth-issuer <url>',
        'accept JWT access tokens of this OAuth/OpenID issuer (repeatable, or a comma list); ' +
          'its keys are read from its metadata. Tokens must be for the resource called (aud)',
      )
        .env('MCPFLEET_AUTH_ISSUER')
        .argParser(collect(checkIssuer)),
    )
    .addOption(
      new Option(
        '--auth-audience <aud>',
        "the audience tokens must carry instead of the resource's URL (for an IdP that stamps one API identifier)",
      ).env('MCPFLEET_AUTH_AUDIENCE'),
    )
    .addOption(
      new Option(
        '--auth-scope <scope>',
        'a scope every token needs on the MCP endpoints (repeatable, or a comma list); advertised to clients',
      )
        .env('MCPFLEET_AUTH_SCOPE')
        .argParser(collect((s) => s)),
    )
    .addOption(
      new Option(
        '--role-claim <claim>',
        "the token claim holding the caller's groups or roles (default groups)",
      ).env('MCPFLEET_ROLE_CLAIM'),
    )
    .addOption(
      new Option(
        '--role-map <map>',
        'management roles from claim values, e.g. admin=platform-admins,operator=sre,viewer=dev',
      )
        .env('MCPFLEET_ROLE_MAP')
        .argParser(parser(parseRoleMap)),
    )
    .addOption(
      new Option(
        '--policy-file <path>',
        "a Cedar policy file whose rules join every server's _meta access block (e.g. a forbid across servers); " +
          'one that is not valid stops the start',
      ).env('MCPFLEET_POLICY_FILE'),
    )
    .addOption(
      new Option(
        '--insecure-no-auth',
        'listen beyond loopback with nobody authenticated (refused otherwise); logged, and shown in /readyz',
      ).env('MCPFLEET_INSECURE_NO_AUTH'),
    );
}

/** The auth settings given; unset ones stay default. */
export function authSettingsOf(flags: AuthFlags): Partial<AuthSettings> {
  return {
    ...(flags.authIssuer ? { issuers: flags.authIssuer } : {}),
    ...(flags.authAudience ? { audience: flags.authAudience } : {}),
    ...(flags.authScope ? { requiredScopes: flags.authScope } : {}),
    ...(flags.roleClaim ? { roleClaim: flags.roleClaim } : {}),
    ...(flags.roleMap ? { roleMap: flags.roleMap } : {}),
    ...(flags.insecureNoAuth ? { insecureNoAuth: true } : {}),
  };
}
