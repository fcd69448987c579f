/** pino, with every place a secret could appear redacted before it is written. */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'credentials',
  'password',
  'token',
  'passphrase',
  '*.password',
  '*.token',
  '*.passphrase',
  '*.privateKey',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { app: 'countersign' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
