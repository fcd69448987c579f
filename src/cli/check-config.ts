import { loadConfigFile } from '../config/load-config.js';
import { FORMATS } from '../formats/index.js';

export async function checkConfig(file: string): Promise<void> {
  const config = await loadConfigFile(file, FORMATS);
  process.stdout.write(`${file}: valid (${config.repositories.length} repositories: ${config.repositories.map((r) => `${r.name} [${r.format}]`).join(', ') || 'none'})\n`);
}
