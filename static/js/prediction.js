// The predicted digit, the ten probabilities and the 28x28 image the network saw.
import { setText } from "./text.js";
import { Throttle } from "./throttle.js";

// The percentages of someone else's drawing (follow me), whose frames come with no pen here:
// at most this often, as the layers' ranges (activations.js), since numbers that change
// every frame cannot be read and each change costs the page a layout.
const NUMBERS_EVERY_MS = 250;

// While the pen is on the paper, a frame changes nothing in the page's document: the digit,
// the ten bars and the input image are canvases the paint worker paints with every frame
// (strip-paint.js; the leading bar in the top colour), and the percentages and the top row's
// colour wait for the pen to lift (each a text or style change, which at a phone's speed made
// the page's frames long: bench/RESULTS.md 6h; the bars' transforms, moved here every frame,
// cost a re-layerizing of the page each: 6j).
export class PredictionView {
  // `painter`: the page's Painter (painter.js), whose worker paints the digit and the image.
  constructor(root, bars, inputCanvas, painter) {
    this.root = root;
    this.bars = bars;
    this.digit = root.querySelector(".digit"); // a canvas
    this.digitText = root.querySelector(".digit-text"); // the digit for screen readers
    this.rows = [];
    this.top = -1; // the row shown as the top one
    this.numbers = new Throttle(NUMBERS_EVERY_MS, (frame) => this.showNumbers(frame));
    this.barCanvas = Object.assign(document.createElement("canvas"), { className: "bar-canvas" });
    this.barCanvas.setAttribute("aria-hidden", "true"); // the percentages say it
    bars.append(this.barCanvas);
    for (let d = 0; d < 10; d++) {
      const row = document.createElement("div");
      row.className = "bar-row";
      row.innerHTML = `<span class="bar-label">${d}</span><span class="bar-value"></span>`;
      bars.append(row);
      this.rows.push({ row, label: row.firstChild, value: row.lastChild });
    }
    painter.adoptStrip(this.digit, inputCanvas, this.barCanvas);
    // The digit's and the bars' sizes in device pixels follow the page's (a projector, the
    // presenter's view, a phone, a zoom).
    new ResizeObserver(() => painter.styleDigit(this.digitStyle()))
      .observe(this.digit, { box: "device-pixel-content-box" });
    new ResizeObserver(() => painter.styleBars(this.barStyle()))
      .observe(this.barCanvas, { box: "device-pixel-content-box" });
    this.empty();
  }

  // Where the worker draws the bars: each beside its row's digit, centred on it, in the
  // page's colours (device pixels).
  barStyle() {
    const style = getComputedStyle(this.barCanvas);
    const scale = devicePixelRatio || 1;
    const box = this.barCanvas.getBoundingClientRect();
    return {
      width: Math.max(0, Math.round(this.barCanvas.clientWidth * scale)),
      height: Math.max(0, Math.round(this.barCanvas.clientHeight * scale)),
      rows: this.rows.map(({ label }) => {
        const row = label.getBoundingClientRect();
        return (row.top + row.height / 2 - box.top) * scale;
      }),
      bar: parseFloat(style.getPropertyValue("--bar-height")) * scale,
      radius: parseFloat(style.getPropertyValue("--bar-radius")) * scale,
      track: style.getPropertyValue("--bar-track").trim(),
      fill: style.getPropertyValue("--muted").trim(),
      top: style.getPropertyValue("--accent").trim(),
    };
  }

  // Canvas and font by one scale (an emulated phone's devicePixelContentBoxSize is in CSS
  // pixels while devicePixelRatio is not: mixing them drew the glyph three times too big).
  digitStyle() {
    const style = getComputedStyle(this.digit);
    const scale = devicePixelRatio || 1;
    return {
      width: Math.max(1, Math.round(this.digit.clientWidth * scale)),
      height: Math.max(1, Math.round(this.digit.clientHeight * scale)),
      font: `${style.fontWeight} ${parseFloat(style.fontSize) * scale}px ${style.fontFamily}`,
      color: style.color,
    };
  }

  // Called for every painted frame (its bars the worker has painted). `final`: the result of
  // the finished drawing, the pen lifted (not one that caught up with the pen mid-stroke);
  // `pending`: this page's own drawing, whose final result has not come yet (the pen on the
  // paper, or frames of the stroke it just lifted from). Text is only written when it changes
  // (writing the same text still invalidates the page's layout).
  show(frame, { final = true, pending = false } = {}) {
    if (this.root.dataset.digit !== String(frame.digit)) this.root.dataset.digit = frame.digit;
    if (pending) {
      this.numbers.cancel();
      return this.drawing(true);
    }
    this.drawing(false);
    this.showTop(frame.digit);
    if (final) this.numbers.now(frame);
    else this.numbers.call(frame); // the newest, a little later
  }

  // The percentages and the top row's colour (its digit's and percentage's) are hidden until
  // the drawing's final result: they would be an earlier drawing's.
  drawing(on) {
    if (this.bars.classList.contains("drawing") === on) return;
    this.bars.classList.toggle("drawing", on);
    if (on) this.showTop(-1);
  }

  showTop(digit) {
    if (digit === this.top) return;
    this.rows[this.top]?.row.classList.remove("top");
    this.rows[digit]?.row.classList.add("top");
    this.top = digit;
  }

  showNumbers(frame) {
    const confidence = (100 * frame.probabilities[frame.digit]).toFixed(0);
    const label = `Prediction: ${frame.digit}, ${confidence}% sure`;
    if (this.root.getAttribute("aria-label") !== label) this.root.setAttribute("aria-label", label);
    setText(this.digitText, String(frame.digit));
    frame.probabilities.forEach((p, d) => setText(this.rows[d].value, `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`));
  }

  // Nothing drawn (the worker blanks the digit, the bars and the image when the page's maps
  // are cleared).
  empty() {
    this.numbers.cancel();
    this.drawing(false);
    this.showTop(-1);
    this.root.dataset.digit = "";
    this.root.setAttribute("aria-label", "Prediction: nothing drawn");
    setText(this.digitText, "–");
    for (const { value } of this.rows) setText(value, "");
  }

  setBusy(busy) {
    const value = busy ? "true" : "false";
    if (this.root.dataset.busy !== value) this.root.dataset.busy = value; // a write restyles, even of the same value
  }
}
