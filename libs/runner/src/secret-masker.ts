import { SECRET_MASK } from '@app/contracts';

/**
 * Replaces every occurrence of some secret values in text with `********`. Each value is
 * also looked for as it appears inside a JSON string (Ansible prints variables that way), so
 * a value with a quote or a backslash is found in `debug` output too, and each line of a
 * value that has several, since output is read line by line.
 */
export class SecretMasker {
  /** Longest first: a value that contains another is replaced whole. */
  private readonly needles: string[];
  /** The length of the longest needle: what a cut must keep together. */
  readonly longest: number;

  constructor(values: readonly string[]) {
    const needles = new Set<string>();
    for (const value of values) {
      for (const form of [value, ...value.split(/\r?\n/)]) {
        if (form.length === 0) continue;
        needles.add(form);
        needles.add(JSON.stringify(form).slice(1, -1));
      }
    }
    this.needles = [...needles].sort((a, b) => b.length - a.length);
    this.longest = this.needles[0]?.length ?? 0;
  }

  /** A masker for these values, or undefined when there is nothing to mask (no cost at all). */
  static of(values: readonly string[] | undefined): SecretMasker | undefined {
    const masker = new SecretMasker(values ?? []);
    return masker.longest > 0 ? masker : undefined;
  }

  mask(text: string): string {
    for (const needle of this.needles) {
      if (text.includes(needle)) text = text.split(needle).join(SECRET_MASK);
    }
    return text;
  }

  /**
   * Where to cut `text` at about `cut` so that no occurrence of a value straddles the cut:
   * `cut` itself, or the end of the occurrence that covers it. Needs `longest - 1` characters
   * after `cut` to be in `text` already.
   */
  safeCut(text: string, from: number, cut: number): number {
    let moved = true;
    while (moved) {
      moved = false;
      for (const needle of this.needles) {
        // an occurrence that starts before the cut and ends after it
        const start = Math.max(from, cut - needle.length + 1);
        const at = text.indexOf(needle, start);
        if (at !== -1 && at < cut && at + needle.length > cut) {
          cut = at + needle.length;
          moved = true;
        }
      }
    }
    return cut;
  }
}
