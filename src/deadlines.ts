// Many far-off deadlines on one timer: a min-heap by time, with the timer armed for the earliest.
// Thousands of idle live subscriptions each wait for their token's expiry; a Timeout apiece
// (plus its closures) is most of what such a subscription would otherwise hold.

/** A scheduled call; pass it to `cancel` to drop it. */
export type Deadline = { readonly at: number; readonly run: () => void; index: number };

// setTimeout takes at most 2^31-1 ms (about 24.8 days); deadlines further off wait in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Deadlines {
  private readonly heap: Deadline[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (ms since the epoch); Infinity when none is armed. */
  private armedFor = Infinity;

  /** Calls `run` once `at` (ms since the epoch) has passed, unless cancelled before. */
  add(at: number, run: () => void): Deadline {
    const deadline: Deadline = { at, run, index: this.heap.length };
    this.heap.push(deadline);
    this.up(deadline.index);
    if (at < this.armedFor) this.arm();
    return deadline;
  }

  /** Drops a deadline that has not run yet; does nothing for one that has run or was dropped. */
  cancel(deadline: Deadline): void {
    const { index } = deadline;
    if (this.heap[index] !== deadline) return;
    const last = this.heap.pop()!;
    deadline.index = -1;
    if (last !== deadline) {
      this.place(last, index);
      this.down(index);
      this.up(last.index);
    }
    // The timer stays armed: when it fires it finds nothing due and re-arms for what remains.
    if (this.heap.length === 0) this.disarm();
  }

  /** Deadlines not yet run nor cancelled. */
  get size(): number {
    return this.heap.length;
  }

  private arm(): void {
    this.disarm();
    const first = this.heap[0];
    if (!first) return;
    this.armedFor = first.at;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(first.at - Date.now(), 0), MAX_TIMER_MS));
    // Waiting for a deadline is no reason to keep the process running.
    this.timer.unref();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = Date.now();
    const due: Deadline[] = [];
    while (this.heap.length && this.heap[0].at <= now) {
      const first = this.heap[0];
      this.cancel(first);
      due.push(first);
    }
    this.arm();
    for (const deadline of due) {
      try {
        deadline.run();
      } catch (error) {
        // One failing call must not cost the others theirs; its error still surfaces, uncaught.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private place(deadline: Deadline, index: number): void {
    this.heap[index] = deadline;
    deadline.index = index;
  }

  private up(index: number): void {
    const deadline = this.heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.heap[parent].at <= deadline.at) break;
      this.place(this.heap[parent], index);
      index = parent;
    }
    this.place(deadline, index);
  }

  private down(index: number): void {
    const deadline = this.heap[index];
    const { length } = this.heap;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && this.heap[child + 1].at < this.heap[child].at) child++;
      if (this.heap[child].at >= deadline.at) break;
      this.place(this.heap[child], index);
      index = child;
    }
    this.place(deadline, index);
  }
}
