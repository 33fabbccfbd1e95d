#!/usr/bin/env node
import { GuardError } from './errors.ts';
import { USAGE } from './cli/args.ts';
import { checkCommand } from './cli/check-command.ts';
import { ALL_RULES } from './rules/index.ts';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) {
    // `clusterip-guard serve --help` is help, whatever else the line holds.
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'serve': {
      const { serveCommand } = await import('./cli/serve-command.ts');
      return serveCommand(rest);
    }
    case 'check':
      return checkCommand(rest);
    case 'explain': {
      const { explainCommand } = await import('./cli/explain-command.ts');
      return explainCommand(rest);
    }
    case 'audit': {
      const { auditCommand } = await import('./cli/audit-command.ts');
      return auditCommand(rest);
    }
    case 'rules':
      for (const r of ALL_RULES) process.stdout.write(`${r.id.padEnd(32)} ${r.defaultAction.padEnd(8)} ${r.stages.join('+').padEnd(16)} ${r.doc}\n`);
      return 0;
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new GuardError('CIG_ERR_USAGE', `${command === undefined ? 'no command given' : `unknown command "${command}"`}\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    if (err instanceof GuardError) {
      process.stderr.write(`clusterip-guard: ${err.code}: ${err.message}\n`);
      process.exitCode = err.exitStatus;
    } else {
      process.stderr.write(`clusterip-guard: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
