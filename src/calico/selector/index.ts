/**
 * Calico's selector language: parsing, evaluation against label maps and
 * canonical printing. See parser.ts for the grammar details checked against
 * Calico's own implementation.
 */
export type { SelectorNode, SetOperator, ValueOperator } from './ast.ts';
export type { Labels } from './evaluate.ts';
export { SelectorSyntaxError } from './errors.ts';
export { MAX_NESTING } from './parser.ts';
export { printSelector } from './printer.ts';
export type { Selector } from './selector.ts';
export { SelectorCache, parseSelector, parseSelectorCached, selectorFromAst } from './selector.ts';
