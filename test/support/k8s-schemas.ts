/**
 * Checks Kubernetes objects against the official API schemas without a cluster:
 * - `validateOfficial`: the OpenAPI validation that `kubernetes-models` compiles from the
 *   Kubernetes OpenAPI spec (types, enums, required fields, formats);
 * - `unknownFields`: fields the API does not have, found by walking the attribute maps that
 *   @kubernetes/client-node generates from the same spec. kubernetes-models accepts unknown
 *   fields, and `kubectl apply` (strict field validation) would not, so a typo such as
 *   `readOnlyRootFileSystem` must fail here too.
 */
import * as k8s from '@kubernetes/client-node';
// js-yaml comes with @kubernetes/client-node (a dependency); it should be a devDependency of its own.
import yaml from 'js-yaml';

interface AttributeType {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): AttributeType[] };

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/**
 * YAML documents exactly as written. Not client-node's loadAllYaml: it deserializes into its
 * model classes, which renames fields (`default` -> `_default`) and drops unknown ones, hiding
 * the very mistakes these tests look for.
 */
export function parseYamlDocs(text: string): KubeObject[] {
  return (yaml.loadAll(text) as (KubeObject | null | undefined)[]).filter((d): d is KubeObject => d !== null && d !== undefined);
}

/** `kubernetes-models/<group>/<version>/<Kind>` for an object's apiVersion and kind. */
export function modelModulePath(obj: KubeObject): string {
  const apiVersion = obj.apiVersion ?? '';
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return group === '' ? `kubernetes-models/${version}/${obj.kind}` : `kubernetes-models/${group}/${version}/${obj.kind}`;
}

/** Throws with the validator's message when `obj` breaks the official schema of its kind. */
export async function validateOfficial(obj: KubeObject): Promise<void> {
  const modulePath = modelModulePath(obj);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(modulePath)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`no official schema for ${obj.apiVersion} ${obj.kind} (${modulePath}): ${String(err)}`);
  }
  const Model = (mod[obj.kind ?? ''] ?? mod.default) as (new (data: unknown) => { validate(): void }) | undefined;
  if (typeof Model !== 'function') throw new Error(`${modulePath} exports no ${obj.kind}`);
  try {
    new Model(structuredClone(obj)).validate();
  } catch (err) {
    throw new Error(`${obj.kind}/${obj.metadata?.name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The client-node model name for an object, e.g. V1Deployment, V1CustomResourceDefinition. */
export function modelTypeName(obj: KubeObject): string {
  const version = (obj.apiVersion ?? '').split('/').pop() ?? '';
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${obj.kind}`;
}

const models = k8s as unknown as Record<string, ModelClass | undefined>;

/** Paths of fields that the Kubernetes API does not know, e.g. `spec.template.spec.containers[0].bogus`. */
export function unknownFields(value: unknown, typeName: string, at = ''): string[] {
  if (value === null || value === undefined) return [];
  const arr = typeName.match(/^Array<(.+)>$/);
  if (arr) {
    return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, arr[1]!, `${at}[${i}]`)) : [];
  }
  const map = typeName.match(/^\{ \[key: string\]: (.+); \}$/);
  if (map) {
    return typeof value === 'object'
      ? Object.entries(value as object).flatMap(([k, v]) => unknownFields(v, map[1]!, `${at}.${k}`))
      : [];
  }
  const model = models[typeName];
  if (model === undefined || typeof model.getAttributeTypeMap !== 'function') return []; // string, number, any, IntOrString, Date
  if (typeof value !== 'object' || Array.isArray(value)) return [];
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as object)) {
    const t = attrs.get(k);
    const p = at === '' ? k : `${at}.${k}`;
    if (t === undefined) out.push(p);
    else out.push(...unknownFields(v, t, p));
  }
  return out;
}
