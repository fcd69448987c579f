/** The registry of formats: adding a format is one folder and one line here. */
import { alpineFormat } from './alpine/index.js';
import { debianFormat } from './debian/index.js';
import { helmFormat } from './helm/index.js';
import { mavenFormat } from './maven/index.js';
import { npmFormat } from './npm/index.js';
import { nugetFormat } from './nuget/index.js';
import { ociFormat } from './oci/index.js';
import { pypiFormat } from './pypi/index.js';
import { rawFormat } from './raw/index.js';
import { rpmFormat } from './rpm/index.js';
import { swiftFormat } from './swift/index.js';
import type { FormatAdapter } from './types.js';

export const FORMATS: ReadonlyMap<string, FormatAdapter> = new Map<string, FormatAdapter>([
  [debianFormat.name, debianFormat as FormatAdapter],
  [npmFormat.name, npmFormat as FormatAdapter],
  [ociFormat.name, ociFormat as FormatAdapter],
  [pypiFormat.name, pypiFormat as FormatAdapter],
  [rawFormat.name, rawFormat as FormatAdapter],
  [rpmFormat.name, rpmFormat as FormatAdapter],
  [alpineFormat.name, alpineFormat as FormatAdapter],
  [helmFormat.name, helmFormat as FormatAdapter],
  [mavenFormat.name, mavenFormat as FormatAdapter],
  [nugetFormat.name, nugetFormat as FormatAdapter],
  [swiftFormat.name, swiftFormat as FormatAdapter],
]);
