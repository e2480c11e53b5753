import type { Entry } from './entries.ts';

const less = (x: Entry, y: Entry): boolean => x.next_at < y.next_at || (x.next_at === y.next_at && x.id < y.id);

/**
 * A binary min-heap of pending entries by due time. Indexed (each entry knows its place), so a
 * due time that changes moves the entry itself: no stale copies to skip, no node per change.
 */
export class Heap {
  readonly #a: Entry[] = [];
  get size(): number {
    return this.#a.length;
  }
  peek(): Entry | undefined {
    return this.#a[0];
  }
  push(e: Entry): void {
    e.pos = this.#a.length;
    this.#a.push(e);
    this.#up(e.pos);
  }
  /** after the entry's next_at changed */
  update(e: Entry): void {
    this.#down(this.#up(e.pos));
  }
  remove(e: Entry): void {
    const a = this.#a;
    const i = e.pos;
    const last = a.pop()!;
    e.pos = -1;
    if (last === e) return;
    a[i] = last;
    last.pos = i;
    this.#down(this.#up(i));
  }
  #up(i: number): number {
    const a = this.#a;
    const e = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = a[p]!;
      if (!less(e, pe)) break;
      a[i] = pe;
      pe.pos = i;
      i = p;
    }
    a[i] = e;
    e.pos = i;
    return i;
  }
  #down(i: number): void {
    const a = this.#a;
    const e = a[i]!;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(a[r]!, a[l]!) ? r : l;
      const ce = a[c]!;
      if (!less(ce, e)) break;
      a[i] = ce;
      ce.pos = i;
      i = c;
    }
    a[i] = e;
    e.pos = i;
  }
}
