/**
 * RBAC as the API server's authorizer applies it, for the API server simulation: a request's
 * attributes (user, verb, API group, resource/subresource, namespace, name) are allowed when a
 * RoleBinding in the namespace (or a ClusterRoleBinding) binds the user, directly or through a
 * group, to a Role or ClusterRole with a rule that covers them. Everything else is denied, and
 * the answer is the real server's 403 Status.
 */
import type { KubeObject } from './k8s-schemas.js';

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  apiGroup: string;
  /** `pods`, or `pods/log` for a subresource. */
  resource: string;
  namespace: string;
  name: string | undefined;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

type RoleObject = KubeObject & { rules?: PolicyRule[] };
type BindingObject = KubeObject & { subjects?: Subject[]; roleRef: { kind: string; name: string } };

/** The user name a ServiceAccount's token authenticates as. */
export const serviceAccountUser = (namespace: string, name: string): UserInfo => ({
  name: `system:serviceaccount:${namespace}:${name}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
});

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  if (s.kind === 'ServiceAccount') return user.name === `system:serviceaccount:${s.namespace ?? bindingNamespace}:${s.name}`;
  if (s.kind === 'User') return user.name === s.name;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  return false;
}

function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  const has = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);
  if (!has(rule.verbs, a.verb)) return false;
  if (!has(rule.apiGroups, a.apiGroup)) return false;
  const [base, sub] = a.resource.split('/');
  const resourceOk = (rule.resources ?? []).some((r) => r === '*' || r === a.resource || (sub !== undefined && r === `${base}/*`) || (sub === undefined && r === `*/${base}`));
  if (!resourceOk) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0) return a.name !== undefined && rule.resourceNames.includes(a.name);
  return true;
}

export class RbacAuthorizer {
  /** The Roles, ClusterRoles and their bindings in force; tests may edit them. */
  constructor(readonly objects: KubeObject[]) {}

  /** Rules of every role bound to the user in the namespace. */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    const roles = this.objects.filter((o): o is RoleObject => o.kind === 'Role' || o.kind === 'ClusterRole');
    const out: PolicyRule[] = [];
    for (const b of this.objects.filter((o): o is BindingObject => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
      const bns = b.metadata?.namespace ?? '';
      if (b.kind === 'RoleBinding' && bns !== namespace) continue;
      if (!(b.subjects ?? []).some((s) => subjectMatches(s, user, bns))) continue;
      const role = roles.find(
        (r) => r.kind === b.roleRef.kind && r.metadata?.name === b.roleRef.name && (r.kind === 'ClusterRole' || r.metadata?.namespace === bns),
      );
      out.push(...(role?.rules ?? []));
    }
    return out;
  }

  allows(a: RequestAttributes): boolean {
    if (a.user.groups.includes('system:masters')) return true;
    return this.rulesFor(a.user, a.namespace).some((r) => ruleAllows(r, a));
  }

  /** The rules of one Role, to edit in a test (remove a verb, say). */
  role(name: string, namespace = 'kubemr'): RoleObject {
    const r = this.objects.find((o) => o.kind === 'Role' && o.metadata?.name === name && o.metadata?.namespace === namespace);
    if (!r) throw new Error(`no Role ${namespace}/${name}`);
    return r as RoleObject;
  }
}

/** The 403 the real API server answers, word for word. */
export function forbidden(a: RequestAttributes): { kind: string; apiVersion: string; metadata: object; status: string; message: string; reason: string; details: object; code: number } {
  const base = a.resource.split('/')[0]!;
  const qualified = a.apiGroup === '' ? base : `${base}.${a.apiGroup}`;
  const scope = a.namespace === '' ? 'at the cluster scope' : `in the namespace "${a.namespace}"`;
  const message = `${qualified}${a.name !== undefined ? ` "${a.name}"` : ''} is forbidden: User "${a.user.name}" cannot ${a.verb} resource "${a.resource}" in API group "${a.apiGroup}" ${scope}`;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Forbidden',
    details: { ...(a.name !== undefined ? { name: a.name } : {}), ...(a.apiGroup !== '' ? { group: a.apiGroup } : {}), kind: base },
    code: 403,
  };
}
