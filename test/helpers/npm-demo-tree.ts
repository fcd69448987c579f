/**
 * A dependency tree of 25 packages for install tests: `demo-app` depends on 8 packages, some
 * with their own dependencies (a chain four deep), two scopes (`@org/...`, `@tools/...`),
 * ranges that must pick the highest (or not the highest) matching version, and `gamma` in two
 * majors where `delta` needs the older one, so npm nests it under delta.
 */
import type { FixtureNpmRegistry, NpmPublishSpec } from './fixture-npm-registry.js';

const TREE: NpmPublishSpec[] = [
  {
    name: 'demo-app',
    version: '1.0.0',
    dependencies: { alpha: '^1.0.0', gamma: '^2.0.0', delta: '^1.0.0', '@org/core': '^1.0.0', '@org/ui': '^2.0.0', iota: '^1.0.0', '@org/cli': '^0.3.0', tau: '~1.1.0' },
  },
  { name: 'alpha', version: '1.0.0' },
  { name: 'alpha', version: '1.1.0', dependencies: { beta: '^1.0.0', gamma: '^2.0.0' } },
  { name: 'beta', version: '1.0.0' },
  { name: 'gamma', version: '1.0.0', files: { 'lib/old.js': 'module.exports = "gamma one";\n' } },
  { name: 'gamma', version: '2.0.0', dependencies: { nu: '^1.0.0' } },
  { name: 'delta', version: '1.0.0', dependencies: { gamma: '^1.0.0', epsilon: '^1.0.0' } },
  { name: 'epsilon', version: '1.0.0' },
  { name: '@org/core', version: '1.0.0', dependencies: { '@org/utils': '^1.2.0', zeta: '^1.0.0' } },
  { name: '@org/utils', version: '1.2.0' },
  { name: '@org/utils', version: '1.3.0', files: { 'lib/strings.js': 'exports.upper = (s) => s.toUpperCase();\n' } },
  { name: 'zeta', version: '1.0.0' },
  { name: '@org/ui', version: '2.0.0', dependencies: { '@org/core': '^1.0.0', eta: '^1.0.0', theta: '^1.0.0' } },
  { name: 'eta', version: '1.0.0' },
  { name: 'theta', version: '1.0.0', dependencies: { xi: '^1.0.0' } },
  { name: 'iota', version: '1.0.0', dependencies: { kappa: '^1.0.0' } },
  { name: 'kappa', version: '1.0.0', dependencies: { lambda: '^1.0.0' } },
  { name: 'lambda', version: '1.0.0', dependencies: { mu: '^1.0.0' } },
  { name: 'mu', version: '1.0.0' },
  { name: 'nu', version: '1.0.0' },
  { name: 'xi', version: '1.0.0' },
  { name: '@org/cli', version: '0.3.1', dependencies: { pi: '^1.0.0', rho: '^1.0.0', '@tools/lint': '^1.0.0' }, manifest: { bin: { 'org-cli': 'bin/cli.js' } }, files: { 'bin/cli.js': '#!/usr/bin/env node\nconsole.log("org-cli");\n' } },
  { name: 'pi', version: '1.0.0' },
  { name: 'rho', version: '1.0.0', dependencies: { sigma: '^1.0.0' } },
  { name: 'sigma', version: '1.0.0' },
  { name: '@tools/lint', version: '1.0.0', dependencies: { omicron: '^1.0.0' } },
  { name: 'omicron', version: '1.0.0' },
  { name: 'tau', version: '1.1.0' },
  { name: 'tau', version: '1.2.0' },
];

/** package-lock.json `packages` keys → the version npm must install there. */
export const DEMO_TREE_INSTALLED: Readonly<Record<string, string>> = {
  'node_modules/demo-app': '1.0.0',
  'node_modules/alpha': '1.1.0',
  'node_modules/beta': '1.0.0',
  'node_modules/gamma': '2.0.0',
  'node_modules/delta': '1.0.0',
  'node_modules/delta/node_modules/gamma': '1.0.0',
  'node_modules/epsilon': '1.0.0',
  'node_modules/@org/core': '1.0.0',
  'node_modules/@org/utils': '1.3.0',
  'node_modules/zeta': '1.0.0',
  'node_modules/@org/ui': '2.0.0',
  'node_modules/eta': '1.0.0',
  'node_modules/theta': '1.0.0',
  'node_modules/iota': '1.0.0',
  'node_modules/kappa': '1.0.0',
  'node_modules/lambda': '1.0.0',
  'node_modules/mu': '1.0.0',
  'node_modules/nu': '1.0.0',
  'node_modules/xi': '1.0.0',
  'node_modules/@org/cli': '0.3.1',
  'node_modules/pi': '1.0.0',
  'node_modules/rho': '1.0.0',
  'node_modules/sigma': '1.0.0',
  'node_modules/@tools/lint': '1.0.0',
  'node_modules/omicron': '1.0.0',
  'node_modules/tau': '1.1.0',
};

export const DEMO_TREE_ROOT = 'demo-app@^1.0.0';

/** Publishes every version of the tree (all validly signed) on the fixture registry. */
export function publishDemoTree(registry: FixtureNpmRegistry): { root: string; installed: Readonly<Record<string, string>>; packages: string[] } {
  for (const spec of TREE) registry.publish(spec);
  return { root: DEMO_TREE_ROOT, installed: DEMO_TREE_INSTALLED, packages: [...new Set(TREE.map((s) => s.name))] };
}
