import t from 'tap';
import { staticClusterState } from '../../src/cluster/static.ts';
import { EMPTY_SNAPSHOT } from '../../src/cluster/types.ts';

t.test('the static cluster state is the empty snapshot, always ready', async (t) => {
  const state = staticClusterState();
  t.equal(state.ready(), true);
  t.equal(state.snapshot(), EMPTY_SNAPSHOT);
  t.equal(state.snapshot(), state.snapshot(), 'same object every call');
  t.equal(state.snapshot().source, 'static');
  await state.close();
  t.equal(state.ready(), true, 'closing changes nothing');
});
