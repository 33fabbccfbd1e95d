/**
 * The URL of a module beside `base` (an `import.meta.url`), for starting a worker or child
 * process from it: from src/ Node runs the .ts file itself (type stripping); tsc builds dist/
 * (the image) as .js, and a worker's URL is not rewritten by the compiler.
 *
 * @example
 *   new Worker(siblingModule(import.meta.url, 'analysis-worker'));
 */
export const siblingModule = (base: string, name: string): URL => new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
