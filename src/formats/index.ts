/** The registry of formats: adding a format is one folder and one line here. */
import { npmFormat } from './npm/index.js';
import { rawFormat } from './raw/index.js';
import type { FormatAdapter } from './types.js';

export const FORMATS: ReadonlyMap<string, FormatAdapter> = new Map<string, FormatAdapter>([
  [npmFormat.name, npmFormat as FormatAdapter],
  [rawFormat.name, rawFormat as FormatAdapter],
]);
