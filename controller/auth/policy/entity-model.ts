// What Cedar policies here talk about: who calls (a Principal), what they call (a Server, a
// Tool of a server), and the two actions the gateway asks about. Written once as a Cedar
// schema, so a platform policy file that names an attribute that does not exist
// (`principal.grups`) is refused at start by Cedar's validator rather than never matching.
//
//   principal  Principal::"<principal id>"   kind    "token" | "key" | "anonymous"
//                                            name    token subject (or name claim) / key name
//                                            groups  the token's group claim values
//                                            scopes  the token's scopes
//                                            roles   management roles (admin, operator, viewer)
//   resource   Server::"<slug>"              slug, name (the server.json name)
//              Tool::"<slug>/<tool>"         name (the tool's), server (the slug); in its Server
//   action     Action::"use_server"          any request to /servers/<slug>/mcp
//              Action::"call_tool"           tools/call, and each tool tools/list shows
import type { EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../principal.ts';

export const USE_SERVER = 'use_server';
export const CALL_TOOL = 'call_tool';

export const CEDAR_SCHEMA = `
entity Principal = {
  kind: String,
  name: String,
  groups: Set<String>,
  scopes: Set<String>,
  roles: Set<String>,
};
entity Server = { slug: String, name: String };
entity Tool in [Server] = { name: String, server: String };
action ${USE_SERVER} appliesTo { principal: Principal, resource: Server };
action ${CALL_TOOL} appliesTo { principal: Principal, resource: Tool };
`;

export const action = (id: typeof USE_SERVER | typeof CALL_TOOL): EntityUidJson => ({
  type: 'Action',
  id,
});
export const serverUid = (slug: string): EntityUidJson => ({ type: 'Server', id: slug });
export const toolUid = (slug: string, tool: string): EntityUidJson => ({
  type: 'Tool',
  id: `${slug}/${tool}`,
});
export const principalUid = (principal: Principal): EntityUidJson => ({
  type: 'Principal',
  id: principal.id,
});

export function principalEntity(principal: Principal): EntityJson {
  return {
    uid: principalUid(principal),
    attrs: {
      kind: principal.kind,
      name: principal.name,
      groups: principal.groups,
      scopes: principal.scopes,
      roles: principal.roles,
    },
    parents: [],
  };
}

export function serverEntity(slug: string, name: string): EntityJson {
  return { uid: serverUid(slug), attrs: { slug, name }, parents: [] };
}

export function toolEntity(slug: string, tool: string): EntityJson {
  return {
    uid: toolUid(slug, tool),
    attrs: { name: tool, server: slug },
    parents: [serverUid(slug)],
  };
}
