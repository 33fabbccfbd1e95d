import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { ERRORS } from '../../src/errors.ts';

t.test('every start-up and CLI error code is in the README "Errors" table', async (t) => {
  const readme = await readFile(join(import.meta.dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Errors'));
  for (const code of Object.keys(ERRORS)) t.match(section, `| \`${code}\` |`, code);
});
