import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { ERROR_CATALOGUE, WebhookError, errorBody, errorTableRows, webhookError } from '../../src/server/errors.ts';
import type { WebhookErrorCode } from '../../src/server/errors.ts';

const codes = Object.keys(ERROR_CATALOGUE) as WebhookErrorCode[];

t.test('every catalogue entry is well formed', async (t) => {
  for (const code of codes) {
    const spec = ERROR_CATALOGUE[code];
    t.match(code, /^CIG_ERR_[A-Z_]+$/, `${code}: name`);
    t.ok(spec.status >= 400 && spec.status <= 599, `${code}: status`);
    t.ok(spec.template.length > 0 && spec.doc.length > 0 && spec.where.length > 0, `${code}: template, where, doc`);
  }
});

t.test('templates are filled from parameters; missing ones stay visible', async (t) => {
  const err = webhookError('CIG_ERR_BODY_TOO_LARGE', { limit: 1024 });
  t.ok(err instanceof WebhookError);
  t.equal(err.status, 413);
  t.same(errorBody(err), { code: 'CIG_ERR_BODY_TOO_LARGE', message: 'request body is larger than 1024 bytes' });
  t.equal(webhookError('CIG_ERR_NOT_FOUND', { method: 'GET' }).message.startsWith('no route for GET {url}'), true);
});

// The README is written alongside; once it has an "## Errors" section, every code must be in it.
t.test('every code is documented in the README "Errors" section', async (t) => {
  const readme = new URL('../../README.md', import.meta.url);
  const text = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const start = text.search(/^## Errors\s*$/m);
  if (start < 0) {
    t.pass('README.md has no "## Errors" section yet; nothing to check');
    return;
  }
  const rest = text.slice(start + 1);
  const end = rest.search(/^## /m);
  const section = end < 0 ? rest : rest.slice(0, end);
  const rows = errorTableRows();
  codes.forEach((code, i) => {
    t.ok(section.includes(`\`${code}\``), `${code} is in the README's Errors section`, { rowToAdd: rows[i] });
  });
});
