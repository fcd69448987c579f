/**
 * Reads the client setup scripts the mirror prints at `/<repo>/-/setup`: the files they write
 * with `cat > <file> <<'EOF'` heredocs, and their command lines, so tests use exactly what a
 * client machine would be told to use.
 */

/** The content a `cat > <file> <<'EOF'` heredoc of the script writes; throws when there is none. */
export function heredoc(script: string, file: string): string {
  const lines = script.split('\n');
  const start = lines.indexOf(`cat > ${file} <<'EOF'`);
  if (start === -1) throw new Error(`the setup script writes no ${file}:\n${script}`);
  const end = lines.indexOf('EOF', start + 1);
  if (end === -1) throw new Error(`the heredoc for ${file} is not closed`);
  return `${lines.slice(start + 1, end).join('\n')}\n`;
}

/** The files the script writes with heredocs. */
export function heredocFiles(script: string): string[] {
  return [...script.matchAll(/^cat > (\S+) <<'EOF'$/gm)].map((m) => m[1]!);
}

/** The first command line that starts with `prefix` (comments excluded). */
export function commandLine(script: string, prefix: string): string {
  const line = script.split('\n').find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`the setup script has no line starting with "${prefix}":\n${script}`);
  return line;
}
