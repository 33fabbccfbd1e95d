import t from 'tap';
import { gnpExposureChange } from '../../src/rules/gnp-exposure-change.ts';
import { config, snapshot } from '../helpers.ts';
import { cases } from './cases/gnp-exposure-change.ts';

const run = (name: string) => {
  const c = cases.find((x) => x.name.startsWith(name))!;
  return gnpExposureChange.check({ stage: 'validate', operation: c.operation ?? 'CREATE', object: c.object, oldObject: c.oldObject ?? null, config: config({}), cluster: snapshot(c.cluster ?? {}) });
};

t.test('only the Services whose answer changes are named', async (t) => {
  const [f] = run('UPDATE widening');
  t.match(f!.message, /svc-a/);
  t.notMatch(f!.message, /svc-b/);
});

t.test('the capped list stays within the warning budget and counts the rest', async (t) => {
  const [f] = run('many Services');
  t.ok(f!.message.length < 2_000, `${f!.message.length} characters`);
  const named = f!.message.match(/default\/svc-\d+ /g)!.length;
  const rest = Number(/and (\d+) more exposed Service ports change\.$/.exec(f!.message)![1]);
  t.equal(named + rest, 40, 'every changed port is named or counted');
});
