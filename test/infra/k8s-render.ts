// Renders the Kubernetes deployment with kustomize (`kubectl kustomize`, the same code `kubectl apply -k`
// runs) and validates objects against their API schemas in a child process (validate-k8s.mjs: the models
// are ESM only).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '..', '..');
export const K8S_DIR = join(ROOT, 'infra', 'k8s');

/** The base and every overlay under infra/k8s/overlays (a new overlay is rendered and checked too). */
export function variants(): string[] {
  const overlays = readdirSync(join(K8S_DIR, 'overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `overlays/${d.name}`)
    .sort();
  return ['base', ...overlays];
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

export interface Rendered {
  variant: string;
  /** The rendered YAML, written to a file for validate-k8s.mjs. */
  file: string;
  objects: K8sObject[];
}

/** `kubectl kustomize infra/k8s/<variant>`; throws with kustomize's message when the overlay is broken. */
export function render(variant: string): Rendered {
  let yaml: string;
  try {
    yaml = execFileSync('kubectl', ['kustomize', join(K8S_DIR, variant)], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl kustomize ${variant} failed: ${e.stderr ?? e.message}`);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'ab-k8s-')), `${variant.replace(/\//g, '-')}.yaml`);
  writeFileSync(file, yaml);
  const objects = parseAllDocuments(yaml)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { variant, file, objects };
}

export interface ValidationResult {
  file: string;
  index: number;
  kind?: string;
  name?: string | null;
  ok: boolean;
  errors?: string[];
}

export function validate(files: string[]): ValidationResult[] {
  const out = execFileSync(process.execPath, [join(__dirname, 'validate-k8s.mjs'), ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out) as ValidationResult[];
}

export type Container = {
  name: string;
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string } } }[];
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
};

export type PodSpec = {
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
  containers: Container[];
};

export function podSpec(d: K8sObject): PodSpec {
  return (d.spec as { template: { spec: PodSpec } }).template.spec;
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}
