// Text that follows a stream of frames, written at most every `ms`, the newest last: numbers
// that change with every frame cannot be read, and each write costs the page a layout.
export class Throttle {
  constructor(ms, run) {
    this.ms = ms;
    this.run = run;
    this.last = -Infinity; // when `run` last ran
    this.timer = null;
  }

  // Runs now if `ms` have passed since the last run; else once they have, with the arguments of
  // the newest call.
  call(...args) {
    clearTimeout(this.timer);
    const wait = this.last + this.ms - performance.now();
    if (wait > 0) this.timer = setTimeout(() => this.now(...args), wait);
    else this.now(...args);
  }

  now(...args) {
    clearTimeout(this.timer);
    this.last = performance.now();
    this.run(...args);
  }

  cancel() {
    clearTimeout(this.timer);
  }
}
