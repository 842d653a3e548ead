// The Kubernetes deployment (infra/k8s): the base and every overlay, rendered by kustomize and each rendered
// object validated against its published schema — Kubernetes objects with the npm package `kubernetes-models`
// (the Kubernetes OpenAPI schemas), KEDA ScaledObjects with `@kubernetes-models/keda` (KEDA's CRD schemas).
// Then what the schemas cannot say: each pod would start in production mode on the overlay's Redis topology,
// the gateway's drain fits its grace period, autoscaling reads metrics agent-bridge exports (PromQL checked
// by promtool), spread and PodDisruptionBudgets kept.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@agent-bridge/config';
import { imageNodeEnv, refusedKeys, serviceOf } from './deploy-env';
import { type K8sObject, type Rendered, K8S_DIR, find, podSpec, render, validate, variants } from './k8s-render';
import { knownMetrics, metricsIn } from './metric-names';

type Trigger = { type: string; metricType?: string; metadata: Record<string, string> };
type ScaledObjectSpec = { scaleTargetRef: { name: string }; minReplicaCount: number; triggers: Trigger[] };

const rendered = new Map<string, Rendered>(variants().map((v) => [v, render(v)]));
const get = (variant: string): Rendered => rendered.get(variant)!;
const overlays = [...rendered.keys()].filter((v) => v !== 'base');

/** The environment a Deployment's container gets: ConfigMap (envFrom), then its env, secrets from `secret`. */
function envOf(objects: K8sObject[], d: K8sObject, secret: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ENV: imageNodeEnv(),
    ...find(objects, 'ConfigMap', 'agent-bridge-config')?.data,
  };
  for (const e of podSpec(d).containers[0]!.env) {
    const ref = e.valueFrom?.secretKeyRef?.key;
    env[e.name] = ref !== undefined ? (secret[ref] ?? '') : (e.value ?? '');
  }
  return env;
}

/** The Secret with its CHANGE-ME placeholders replaced by strong values. */
function strongSecret(placeholders: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(placeholders).map(([k, v]) => [
      k,
      v.includes('://')
        ? v.replaceAll('CHANGE-ME', `pw${k.length}a0b1c2d3e4f5a6b7c8d9`)
        : `${k}-0123456789abcdef0123456789abcdef`,
    ]),
  );
}

const deployments = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment');
const secretOf = (objects: K8sObject[]) => find(objects, 'Secret', 'agent-bridge-secrets')?.stringData ?? {};

describe('Kubernetes deployment (infra/k8s, rendered by kustomize)', () => {
  test('the overlays are standalone, Sentinel, Cluster and Cluster with lock masters', () => {
    expect(overlays).toEqual([
      'overlays/cluster',
      'overlays/cluster-lock-masters',
      'overlays/sentinel',
      'overlays/standalone',
    ]);
  });

  test.each([...rendered.keys()])('%s: every rendered object is valid against its schema', (variant) => {
    const { file } = get(variant);
    const results = validate([file]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const scaling = variant === 'base' ? 'HorizontalPodAutoscaler' : 'ScaledObject';
    expect(results.map((r) => `${r.kind!}/${r.name!}`).sort()).toEqual(
      [
        'Namespace/agent-bridge',
        'ConfigMap/agent-bridge-config',
        'Secret/agent-bridge-secrets',
        'Deployment/bridge',
        'Deployment/gateway',
        'Deployment/ops',
        'Service/bridge',
        'Service/gateway',
        'Service/ops',
        `${scaling}/bridge`,
        `${scaling}/gateway`,
        'PodDisruptionBudget/bridge',
        'PodDisruptionBudget/gateway',
      ].sort(),
    );
  });

  test('the schema checks are not vacuous: a broken Deployment and a broken ScaledObject are rejected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ab-k8s-bad-'));
    const badDeployment = readFileSync(join(K8S_DIR, 'base', 'ops.yaml'), 'utf8').replace(
      'replicas: 1',
      "replicas: 'one'",
    );
    const badScaled = readFileSync(join(K8S_DIR, 'components', 'keda', 'scaledobjects.yaml'), 'utf8')
      .replace('minReplicaCount: 2', "minReplicaCount: 'two'")
      .replace('scaleTargetRef:', 'scaleTargetReference:');
    writeFileSync(join(dir, 'deployment.yaml'), badDeployment);
    writeFileSync(join(dir, 'scaled.yaml'), badScaled);
    const results = validate([join(dir, 'deployment.yaml'), join(dir, 'scaled.yaml')]);
    const deployment = results.find((r) => r.kind === 'Deployment');
    const bridge = results.find((r) => r.kind === 'ScaledObject' && r.name === 'bridge');
    expect(deployment).toMatchObject({ kind: 'Deployment', ok: false });
    expect(deployment!.errors!.join('\n')).toContain('replicas');
    expect(bridge).toMatchObject({ kind: 'ScaledObject', ok: false });
    expect(bridge!.errors!.join('\n')).toMatch(/minReplicaCount|scaleTargetRef/);
  });

  test.each([...rendered.keys()])('%s: probes, Service and PDB selectors, spread over nodes', (variant) => {
    const { objects } = get(variant);
    for (const d of deployments(objects)) {
      const name = d.metadata.name;
      const labels = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      const [c] = podSpec(d).containers;
      expect([name, c!.livenessProbe.httpGet.path, c!.readinessProbe.httpGet.path]).toEqual([
        name,
        '/healthz',
        '/readyz',
      ]);
      expect({ name, selector: find(objects, 'Service', name)?.spec?.['selector'] }).toEqual({
        name,
        selector: labels,
      });
      if (name === 'ops') continue;
      const pdb = find(objects, 'PodDisruptionBudget', name)?.spec as { minAvailable: number; selector: unknown };
      expect({ name, pdb }).toEqual({ name, pdb: { minAvailable: 1, selector: { matchLabels: labels } } });
      const spread = podSpec(d).topologySpreadConstraints ?? [];
      expect({ name, spread: spread.map((s) => [s.topologyKey, s.labelSelector.matchLabels]) }).toEqual({
        name,
        spread: [['kubernetes.io/hostname', labels]],
      });
    }
  });

  test.each([...rendered.keys()])(
    '%s: the placeholder Secret is refused in production mode, real secrets start every pod (guarantee 7.1)',
    (variant) => {
      const { objects } = get(variant);
      const placeholders = secretOf(objects);
      const refused = Object.fromEntries(
        deployments(objects).map((d) => [
          d.metadata.name,
          refusedKeys(envOf(objects, d, placeholders), serviceOf(d.metadata.name)!),
        ]),
      );
      expect(refused).toEqual({
        // The lock masters' URLs hold placeholder passwords too (only the bridge connects to them).
        bridge: variant.includes('lock-masters') ? ['REDIS_LOCK_URLS', 'REDIS_URL'] : ['REDIS_URL'],
        gateway: ['AB_JWT_SECRET', 'REDIS_URL'],
        ops: ['AB_OPS_PASSWORD', 'REDIS_URL'],
      });
      const strong = strongSecret(placeholders);
      for (const d of deployments(objects)) {
        const name = d.metadata.name;
        expect({ name, refused: refusedKeys(envOf(objects, d, strong), serviceOf(name)!) }).toEqual({
          name,
          refused: [],
        });
      }
    },
  );

  test.each([
    ['base', 'standalone', 0],
    ['overlays/standalone', 'standalone', 0],
    ['overlays/sentinel', 'sentinel', 0],
    ['overlays/cluster', 'cluster', 0],
    ['overlays/cluster-lock-masters', 'cluster', 3],
  ])('%s: pods run on Redis %s with %i separate lock masters', (variant, mode, lockMasters) => {
    const { objects } = get(variant);
    const strong = strongSecret(secretOf(objects));
    for (const d of deployments(objects)) {
      const service = serviceOf(d.metadata.name)!;
      const { redis } = loadConfig({ env: envOf(objects, d, strong), service });
      expect({ service, mode: redis.mode }).toEqual({ service, mode });
      if (mode === 'sentinel') expect(redis.sentinels.length).toBeGreaterThanOrEqual(3);
      if (mode === 'cluster') expect(redis.clusterNodes.length).toBeGreaterThanOrEqual(3);
      // Only bridges hold the leader lease.
      expect({ service, lockMasters: redis.lockUrls.length }).toEqual({
        service,
        lockMasters: service === 'bridge' ? lockMasters : 0,
      });
    }
  });

  test.each([...rendered.keys()])("%s: a pod's drain fits in its grace period", (variant) => {
    const { objects } = get(variant);
    const shutdownS =
      Number(find(objects, 'ConfigMap', 'agent-bridge-config')?.data?.['AB_SHUTDOWN_TIMEOUT_MS']) / 1000;
    expect(shutdownS).toBeGreaterThan(0);
    for (const d of deployments(objects)) {
      const spec = podSpec(d);
      const preStop = spec.containers[0]!.lifecycle?.preStop?.exec?.command ?? [];
      // The gateway keeps serving while it leaves the Service endpoints; the others take no client traffic.
      const sleepS = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      if (d.metadata.name === 'gateway') expect(sleepS).toBeGreaterThanOrEqual(5);
      else expect(preStop).toEqual([]);
      // preStop, then SIGTERM and the shutdown deadline, must end before the kubelet's SIGKILL.
      expect({ name: d.metadata.name, fits: sleepS + shutdownS < spec.terminationGracePeriodSeconds! }).toEqual({
        name: d.metadata.name,
        fits: true,
      });
    }
  });

  test.each(overlays)('%s: KEDA scales bridges on queue backlog and gateways on connections', (variant) => {
    const { objects } = get(variant);
    const known = knownMetrics();
    const scaled = (name: string) => find(objects, 'ScaledObject', name)?.spec as ScaledObjectSpec;
    const queries = (name: string) =>
      scaled(name)
        .triggers.filter((t) => t.type === 'prometheus')
        .map((t) => t.metadata['query']!);
    expect(queries('bridge').flatMap(metricsIn).sort()).toEqual([
      'agent_bridge_queue_depth',
      'agent_bridge_queue_lag_ms',
    ]);
    expect(queries('gateway').flatMap(metricsIn)).toEqual(['agent_bridge_gateway_sockets']);
    for (const name of ['bridge', 'gateway']) {
      expect(scaled(name).scaleTargetRef.name).toBe(name);
      expect(find(objects, 'Deployment', name)).toBeDefined();
      for (const m of queries(name).flatMap(metricsIn)) expect(known.has(m) ? 'known' : m).toBe('known');
    }
    // Below AB_HEALTH_MIN_REPLICAS, ops reports the deployment degraded.
    const minReplicas = Number(find(objects, 'ConfigMap', 'agent-bridge-config')?.data?.['AB_HEALTH_MIN_REPLICAS']);
    expect(scaled('bridge').minReplicaCount).toBeGreaterThanOrEqual(minReplicas);
    // promtool parses every query (as recording rules): a PromQL typo fails here, not in the cluster.
    const rules = {
      groups: [
        {
          name: 'keda',
          rules: [...queries('bridge'), ...queries('gateway')].map((expr, i) => ({ record: `keda:q${i}`, expr })),
        },
      ],
    };
    const file = join(mkdtempSync(join(tmpdir(), 'ab-keda-')), 'rules.json');
    writeFileSync(file, JSON.stringify(rules));
    expect(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })).toContain('SUCCESS');
  });
});
