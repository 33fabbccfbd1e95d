import t from 'tap';
import { applyPatch } from '../../src/admission/json-patch.ts';
import { ALL_RULES } from '../../src/rules/index.ts';
import type { Finding, RuleContext } from '../../src/rules/types.ts';
import { config, snapshot } from '../helpers.ts';
import type { RuleCase } from './case.ts';

// Every rule has a case table in test/rules/cases/<rule-id>.ts with passing and failing rows.
for (const rule of ALL_RULES) {
  t.test(rule.id, async (t) => {
    const mod = (await import(`./cases/${rule.id}.ts`)) as { cases: RuleCase[] };
    t.ok(mod.cases.some((c) => c.expect.length === 0), 'has a passing case');
    t.ok(mod.cases.some((c) => c.expect.length > 0), 'has a failing case');
    for (const c of mod.cases) {
      const ctx: RuleContext = {
        stage: c.stage ?? rule.stages[0]!,
        operation: c.operation ?? 'CREATE',
        ...(c.mode === undefined ? {} : { mode: c.mode }),
        object: c.object,
        oldObject: c.oldObject ?? null,
        config: config(c.config ?? {}),
        cluster: snapshot(c.cluster ?? {}),
      };
      const findings: readonly Finding[] = rule.check(ctx);
      t.same(findings.map((f) => f.path), c.expect, `${c.name}: paths`);
      for (const f of findings) {
        t.ok(f.message.length > 20, `${c.name}: message says something`);
        for (const text of c.messageIncludes ?? []) t.match(f.message, text, `${c.name}: message mentions ${text}`);
        if (c.unpatchable) t.equal(f.patch, undefined, `${c.name}: no patch`);
      }
      if (c.patched !== undefined) {
        const ops = findings.flatMap((f) => f.patch ?? []);
        t.ok(ops.length > 0, `${c.name}: patches`);
        const patched = applyPatch(c.object, ops);
        t.match(patched, c.patched, `${c.name}: patched object`);
        const again = rule.check({ ...ctx, object: patched }).filter((f) => f.patch !== undefined);
        t.same(again, [], `${c.name}: patch is idempotent`);
      }
    }
  });
}
