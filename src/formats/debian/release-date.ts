/**
 * Dates in Release files: RFC 1123 / RFC 2822 (https://www.rfc-editor.org/rfc/rfc2822#section-3.3),
 * e.g. "Sat, 11 Jul 2026 10:16:37 UTC", as apt's `RFC1123StrToTime` reads them. Attacker-controlled
 * text: only the strict form is accepted, never whatever `Date.parse` guesses.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const FORM = /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (UTC|GMT|Z|[+-]\d{4})$/;

export function parseReleaseDate(text: string): Date | undefined {
  const m = FORM.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[2]!);
  if (month < 0) return undefined;
  const [day, year, hour, minute, second] = [m[1], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  let ms = Date.UTC(year, month, day, hour, minute, second);
  const zone = m[7]!;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60_000;
    ms += zone.startsWith('+') ? -offset : offset;
  }
  return new Date(ms);
}

/** "Sat, 11 Jul 2026 10:16:37 UTC", as the Debian archive writes it. */
export function formatReleaseDate(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
}
