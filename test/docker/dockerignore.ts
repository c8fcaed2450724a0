/**
 * A .dockerignore's rules, matched as Docker matches them: paths relative to the context
 * root, `*` and `?` within one path segment, `**` across segments, a rule that matches a
 * directory excludes what is in it, `!` re-includes, and the last matching rule wins.
 */
export class DockerIgnore {
  private readonly rules: { exclude: boolean; pattern: RegExp; text: string }[];

  constructor(source: string) {
    this.rules = source
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const exclude = !line.startsWith('!');
        const text = clean(exclude ? line : line.slice(1));
        return { exclude, pattern: toRegExp(text), text };
      });
  }

  /** Whether `path` (relative to the context root) is left out of the build context. */
  excludes(path: string): boolean {
    const target = clean(path);
    let excluded = false;
    for (const rule of this.rules) {
      if (matchesItselfOrParent(rule.pattern, target)) excluded = rule.exclude;
    }
    return excluded;
  }

  /** The rule texts that exclude (not the `!` ones). */
  get excluded(): string[] {
    return this.rules.filter((rule) => rule.exclude).map((rule) => rule.text);
  }
}

function clean(path: string): string {
  return path
    .replace(/^\.?\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\/\.\//g, '/');
}

function matchesItselfOrParent(pattern: RegExp, path: string): boolean {
  const segments = path.split('/');
  for (let end = segments.length; end > 0; end--) {
    if (pattern.test(segments.slice(0, end).join('/'))) return true;
  }
  return false;
}

function toRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` matches no segment too
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
