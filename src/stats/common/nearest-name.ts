/**
 * The candidate closest to `name`, for "did you mean …?" in configuration errors, or undefined when
 * none is close enough to be a likely typo. Names are compared without regard to case, `_` and `-`
 * (`jwks_uri` is `jwksUri`). Close enough: at most one edit per three characters of the name, and
 * at least one (a swap of two neighbouring characters is one edit). On a tie the earlier candidate wins.
 */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  const wanted = normalise(name);
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalise(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/**
 * Optimal string alignment distance: the Levenshtein distance (insertions, deletions,
 * substitutions) where swapping two neighbouring characters also counts as one edit.
 */
export function editDistance(a: string, b: string): number {
  // Rows i-2, i-1 and i of the usual (a.length + 1) x (b.length + 1) table.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, before[j - 2] + 1);
      }
      current[j] = distance;
    }
    [before, previous, current] = [previous, current, before];
  }
  return previous[b.length];
}
