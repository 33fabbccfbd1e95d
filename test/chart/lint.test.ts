// `helm lint` (plain and --strict) on the chart with each ci scenario.
import t from 'tap';
import { CHART_DIR, KUBE_VERSION, SCENARIOS, runHelm, valuesPath } from './render.ts';

for (const scenario of SCENARIOS) {
  for (const strict of [false, true]) {
    t.test(`helm lint${strict ? ' --strict' : ''} with ${scenario}`, async (t) => {
      const args = ['lint', CHART_DIR, '--values', valuesPath(scenario), '--kube-version', KUBE_VERSION];
      if (strict) args.push('--strict');
      const result = await runHelm(args);
      t.equal(result.code, 0, `helm lint failed:\n${result.stdout}${result.stderr}`);
      t.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      t.notMatch(result.stdout, /\[(WARNING|ERROR)\]/, 'no warnings or errors');
    });
  }
}

t.test('helm lint fails on a values file that breaks the schema', async (t) => {
  const result = await runHelm(['lint', CHART_DIR, '--set', 'replicaCount=two', '--kube-version', KUBE_VERSION]);
  t.not(result.code, 0);
  t.match(result.stdout + result.stderr, /replicaCount/);
});

t.test('the chart refuses Kubernetes versions without the preStop sleep action', async (t) => {
  const result = await runHelm(['template', 'x', CHART_DIR, '--kube-version', '1.29.0']);
  t.not(result.code, 0);
  t.match(result.stderr, /kubeVersion/i);
});
