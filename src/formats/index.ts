/** The registry of formats: adding a format is one folder and one line here. */
import { rawFormat } from './raw/index.js';
import type { FormatAdapter } from './types.js';

export const FORMATS: ReadonlyMap<string, FormatAdapter> = new Map<string, FormatAdapter>([
  [rawFormat.name, rawFormat as FormatAdapter],
]);
