// The colour legend with numbers: the value range the colours of the layer (or map) being
// looked at stand for, under the scale in use, so a colour can be read as a value.
import { paintLegend } from "./colormap.js";
import { setText } from "./text.js";

export const formatValue = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(1) : v.toPrecision(3));

export class Legend {
  constructor(root) {
    this.root = root;
    this.of = root.querySelector(".legend-of");
    this.lo = root.querySelector(".legend-lo");
    this.hi = root.querySelector(".legend-hi");
    const canvas = root.querySelector("canvas");
    paintLegend(canvas);
    // Where 0 falls on the scale: conv maps are signed, and a blank background is not 0 there
    // (a filter's bias), so the colour of "nothing" is marked.
    const bar = Object.assign(document.createElement("span"), { className: "legend-bar" });
    this.zero = Object.assign(document.createElement("span"), { className: "legend-zero", title: "0" });
    canvas.before(bar);
    bar.append(canvas, this.zero);
    this.clear();
  }

  // `what`: whose range ("conv1", "conv1 map 7"); lo and hi: the values at the two ends.
  show(what, lo, hi) {
    const key = `${what} ${lo} ${hi}`;
    if (key === this.key) return; // text written only when it changes: a write costs a layout
    this.key = key;
    Object.assign(this.root.dataset, { layer: what, lo, hi });
    setText(this.of, `${what}:`);
    setText(this.lo, formatValue(lo));
    setText(this.hi, lo === hi ? `${formatValue(hi)} (all equal)` : formatValue(hi));
    this.zero.hidden = !(lo < 0 && hi > 0);
    this.zero.style.left = `${(100 * -lo) / (hi - lo)}%`;
  }

  clear() {
    this.key = "";
    for (const key of ["layer", "lo", "hi"]) delete this.root.dataset[key];
    setText(this.of, "");
    setText(this.lo, "low");
    setText(this.hi, "high");
    this.zero.hidden = true;
  }
}
