/**
 * `kubectl kustomize DIR` for the features k8s/kustomization.yaml uses, in-process: the
 * resources (files, or folders with a kustomization of their own), `namespace`, `labels` and
 * `images`. Tests that need the rendered manifests (the API server simulation's RBAC, say) do not
 * depend on a kubectl binary; test/k8s-manifests.test.ts checks that this rendering equals
 * kubectl's wherever kubectl is installed. A field this renderer does not know is an error, so a
 * new kustomize feature in k8s/ cannot be silently ignored here.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { parseYamlDocs, type KubeObject } from './k8s-schemas.js';

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

const KNOWN = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'labels', 'images']);

/** Kinds that live outside namespaces (the ones kustomize's namespace transformer leaves alone). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
]);

function kustomizationFile(dir: string): string {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const f = path.join(dir, name);
    if (existsSync(f)) return f;
  }
  throw new Error(`no kustomization.yaml in ${dir}`);
}

/** Pod specs inside an object: a Pod's own, a template's, a CronJob's job template's. */
function podSpecs(o: Record<string, any>): Record<string, any>[] {
  if (o.kind === 'Pod') return o.spec ? [o.spec] : [];
  const out: Record<string, any>[] = [];
  if (o.spec?.template?.spec) out.push(o.spec.template.spec);
  if (o.spec?.jobTemplate?.spec?.template?.spec) out.push(o.spec.jobTemplate.spec.template.spec);
  return out;
}

function setImages(o: KubeObject, images: NonNullable<Kustomization['images']>): void {
  for (const spec of podSpecs(o as Record<string, any>)) {
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])] as { image?: string }[]) {
      if (typeof c.image !== 'string') continue;
      const at = c.image.indexOf('@');
      const colon = c.image.lastIndexOf(':');
      const slash = c.image.lastIndexOf('/');
      const nameEnd = at >= 0 ? at : colon > slash ? colon : c.image.length;
      const name = c.image.slice(0, nameEnd);
      const image = images.find((i) => i.name === name);
      if (!image) continue;
      const tagPart = c.image.slice(nameEnd);
      const newName = image.newName ?? name;
      if (image.digest) c.image = `${newName}@${image.digest}`;
      else if (image.newTag !== undefined) c.image = `${newName}:${image.newTag}`;
      else c.image = `${newName}${tagPart}`;
    }
  }
}

/** The objects `kubectl kustomize dir` prints, in the order the resources list them. */
export function renderKustomization(dir: string): KubeObject[] {
  const file = kustomizationFile(dir);
  const k = yaml.load(readFileSync(file, 'utf8')) as Kustomization;
  for (const field of Object.keys(k)) {
    if (!KNOWN.has(field)) throw new Error(`${file}: test/support/kustomize.ts does not render \`${field}\`; extend it (or render with kubectl)`);
  }
  const docs: KubeObject[] = [];
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    if (statSync(p).isDirectory()) docs.push(...renderKustomization(p));
    else docs.push(...parseYamlDocs(readFileSync(p, 'utf8')));
  }
  for (const d of docs) {
    const o = d as Record<string, any>;
    if (k.namespace !== undefined && !CLUSTER_SCOPED.has(d.kind ?? '')) {
      d.metadata = { ...d.metadata, namespace: k.namespace };
      // As kustomize does: ServiceAccount subjects of bindings follow the namespace.
      if (d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding') {
        for (const s of (o.subjects ?? []) as { kind: string; namespace?: string }[]) {
          if (s.kind === 'ServiceAccount' && (s.namespace === undefined || s.namespace === 'default')) s.namespace = k.namespace;
        }
      }
    }
    for (const l of k.labels ?? []) {
      if (l.includeSelectors || l.includeTemplates) throw new Error(`${file}: test/support/kustomize.ts renders labels without includeSelectors/includeTemplates only`);
      d.metadata = { ...d.metadata, labels: { ...((d.metadata?.labels as Record<string, string> | undefined) ?? {}), ...l.pairs } };
    }
    if (k.images) setImages(d, k.images);
  }
  return docs;
}
