// Validates Kubernetes manifests against the Kubernetes OpenAPI schemas as shipped by the npm package
// `kubernetes-models` (validators compiled with ajv from the upstream Kubernetes OpenAPI/JSON schema), and
// KEDA objects (keda.sh) against KEDA's CRD schemas as shipped by `@kubernetes-models/keda`.
// ESM only, so the Jest test runs it as a child process:
//   node test/infra/validate-k8s.mjs file.yaml...   -> JSON array of results on stdout
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const NOT_KUBERNETES_API = new Set(['kustomize.config.k8s.io/v1beta1']);

/** npm packages of the models of custom resources, by API group. */
const CRD_MODELS = { 'keda.sh': '@kubernetes-models/keda' };

async function modelFor(apiVersion, kind) {
  const path = apiVersion.includes('/') ? apiVersion : `v1`;
  const crdPackage = CRD_MODELS[apiVersion.split('/')[0]];
  const mod = await import(crdPackage ? `${crdPackage}/${path}` : `kubernetes-models/${path}`);
  const Model = mod[kind];
  if (!Model) throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  return Model;
}

const results = [];
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      results.push({ file, index, ok: false, errors: doc.errors.map((e) => e.message) });
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const base = { file, index, apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata?.name ?? null };
    if (NOT_KUBERNETES_API.has(obj.apiVersion)) {
      results.push({ ...base, ok: true, skipped: 'not a Kubernetes API object' });
      continue;
    }
    try {
      const Model = await modelFor(String(obj.apiVersion), String(obj.kind));
      new Model(obj).validate();
      results.push({ ...base, ok: true });
    } catch (err) {
      results.push({ ...base, ok: false, errors: [String(err.message ?? err)] });
    }
  }
}
process.stdout.write(JSON.stringify(results));
