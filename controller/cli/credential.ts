// The CLI's credential: MCPFLEET_TOKEN or --token (an identity provider's access token or an
// `mcpfleet keys` API key), sent as a bearer token on every API call; and what a person
// reads when the controller refuses it — one line saying what to set, never a stack trace.
import { ApiRequestError } from './api-client.ts';

export const TOKEN_ENV = 'MCPFLEET_TOKEN';

export function authorizationHeader(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** A 401 or 403 from the controller, explained; other answers as they are. */
export function explainRefusal(
  err: ApiRequestError,
  url: string,
  token: string | undefined,
): ApiRequestError {
  if (err.status === 401) {
    const why = token
      ? `refused the credential in --token/${TOKEN_ENV} (${err.message})`
      : 'needs a credential';
    return new ApiRequestError(
      401,
      err.code,
      `the controller at ${url} ${why}: set ${TOKEN_ENV} or --token to a valid access token ` +
        'or API key (mcpfleet keys create)',
    );
  }
  if (err.status === 403) {
    return new ApiRequestError(
      403,
      err.code,
      `${err.message.replace(/\.$/, '')}: set ${TOKEN_ENV} or --token to a credential that may`,
    );
  }
  return err;
}
