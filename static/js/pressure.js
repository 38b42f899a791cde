// How often the page may ask for a frame while the pen draws, by the device's CPU pressure
// (Compute Pressure API, in the paint worker: Chrome 125; elsewhere no pacing). Every frame
// costs the worker, the compositor and the server CPU that, on a device whose cores are all
// busy, the page's main thread waits for: on a 2-core machine at a phone's speed (CDP
// throttling 4) that waiting made the page's input tasks long, and drawing states at most
// every 40 ms made them rare with 23 maps a second on screen (bench/RESULTS.md 6l). With
// cores to spare (nominal, fair) every display frame's drawing is sent, from the second such
// reading in a row: the pacing itself eases the pressure, and ending it at the first calm
// reading had it on and off every second or two.
// 25 states a second, serious or critical: what the page is built to show a phone (issue 11:
// 20 maps a second or more).
const PACE_MS = 40;
const BUSY = new Set(["serious", "critical"]);
const SAMPLE_MS = 1000;
const CALM_READINGS = 2;
const KEEP = 120; // readings kept for bench/paint.py: [epoch ms, state, gap]

export class CpuPressure {
  constructor() {
    this.state = "unknown"; // until the first reading, or for good where not supported
    this.gap = 0; // the least time between two drawing states, in ms
    this.calm = 0; // readings in a row with cores to spare
    this.readings = [];
    if (typeof PressureObserver === "undefined") return;
    // Kept: an observer nothing refers to is collected, and its readings stop with it.
    this.observer = new PressureObserver((records) => this.read(records.at(-1).state));
    // Refused where a permissions policy forbids it: the page then sends every state.
    this.observer.observe("cpu", { sampleInterval: SAMPLE_MS }).catch(() => {});
  }

  read(state) {
    this.state = state;
    this.calm = BUSY.has(state) ? 0 : this.calm + 1;
    if (this.calm === 0) this.gap = PACE_MS;
    else if (this.calm >= CALM_READINGS) this.gap = 0;
    this.readings.push([performance.timeOrigin + performance.now(), state, this.gap]);
    if (this.readings.length > KEEP) this.readings.shift();
  }
}
