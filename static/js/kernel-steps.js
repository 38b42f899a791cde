// A conv map built before the learner's eyes, in the inspector: the filter's window slides
// over the input maps position by position (Step, Play, Pause), outlined on every input map,
// and each position's unit fills in on the map being built, with its arithmetic (units.js).
// The window comes from the layer's kernel, strides and padding (links.js), so it holds for
// any conv layer of any model; the built units are the map's own values as shown.
import { LUT } from "./colormap.js";
import { trueValue } from "./frame.js";
import { BLANK } from "./mapgrid.js";

const FULL_PASS_MS = 8000; // one whole map, playing
const f4 = (v) => v.toFixed(4);

export class KernelSteps {
  // `el`: the inspector's .kernel-steps section; `units`: a UnitMath; `links`: a Links.
  constructor(el, { units, links }) {
    this.el = el;
    this.units = units;
    this.links = links;
    this.source = el.querySelector(".kernel-input canvas");
    this.built = el.querySelector("canvas.kernel-built");
    this.where = el.querySelector(".kernel-where");
    this.math = el.querySelector(".kernel-math");
    this.timer = null;
    this.target = null;
    el.querySelector(".kernel-step").addEventListener("click", () => this.step(true));
    el.querySelector(".kernel-play").addEventListener("click", () => this.play());
    el.querySelector(".kernel-pause").addEventListener("click", () => this.pause());
  }

  // Map m of frame layer `name` (a conv layer: shown; any other: hidden), at its start.
  open(name, m, frame) {
    this.pause();
    const layer = this.units.layer(name);
    // A conv of a model's own input that is not 28x28 grey: the page has only a picture of it.
    const readable = layer && (this.links.sourceOf(layer) || this.links.inputShown);
    const show = !!(layer && layer.kind === "conv" && this.units.kernels[name] && readable);
    this.el.hidden = !show;
    this.target = show ? { name, m, layer } : null;
    if (!show) return;
    this.done = 0;
    this.refresh(frame);
  }

  close() {
    this.pause();
    this.target = null;
  }

  refresh(frame) {
    this.frame = frame;
    if (!this.target) return;
    const shown = frame && frame.layers.find((l) => l.name === this.target.name);
    this.shown = shown || null;
    if (!shown) {
      this.pause();
      this.where.textContent = "Nothing drawn.";
      return;
    }
    this.positions = shown.height * shown.width;
    this.done = Math.min(this.done, this.positions);
    this.paintSource();
    this.render(false);
  }

  step(announce) {
    if (!this.shown) return;
    this.done = this.done >= this.positions ? 1 : this.done + 1;
    this.render(announce);
  }

  play() {
    if (this.timer || !this.shown) return;
    if (this.done >= this.positions) this.done = 0;
    const every = Math.max(4, FULL_PASS_MS / this.positions);
    this.el.dataset.playing = "true";
    this.timer = setInterval(() => {
      this.step(false);
      if (this.done >= this.positions) this.pause();
    }, every);
  }

  pause() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.el.dataset.playing = "false";
    this.render(true);
  }

  // The input the filter reads: the model's 28x28 input, or every map of the layer before
  // in the filter's own block grid (network.json's kernel `columns`), each in viridis.
  paintSource() {
    const { layer } = this.target;
    const kernel = this.units.kernels[this.target.name];
    const source = this.links.sourceOf(layer);
    const maps = source ? this.frame.layers.find((l) => l.name === source.frame_name) : null;
    const [h, w] = maps ? [maps.height, maps.width] : this.units.input.shape;
    const count = maps ? maps.maps : 1, columns = maps ? kernel.columns : 1;
    const rows = Math.ceil(count / columns);
    const width = columns * (w + 1) - 1, height = rows * (h + 1) - 1;
    this.grid = { columns, w, h, width, height, count, name: source ? source.frame_name : "input" };
    const canvas = this.source;
    canvas.width = width;
    canvas.height = height;
    const image = new ImageData(width, height);
    const pixels = new Uint32Array(image.data.buffer);
    for (let m = 0; m < count; m++) {
      const left = (m % columns) * (w + 1), top = Math.floor(m / columns) * (h + 1);
      const flat = maps && !(maps.max[m] > maps.min[m]);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const q = maps ? (flat ? 0 : maps.values[(m * h + y) * w + x]) : Math.round(255 * Math.min(1, Math.max(0, this.frame.image[y * w + x])));
          pixels[(top + y) * width + left + x] = LUT[q];
        }
      }
    }
    canvas.getContext("2d").putImageData(image, 0, 0);
    canvas.style.aspectRatio = `${width} / ${height}`;
  }

  // The built map (units before `done`; the rest dark), the window on every input map and
  // the current unit's arithmetic.
  render(announce) {
    const shown = this.shown, m = this.target.m;
    const { width, height } = shown, area = width * height;
    this.built.width = width;
    this.built.height = height;
    const image = new ImageData(width, height);
    const pixels = new Uint32Array(image.data.buffer);
    const flat = !(shown.max[m] > shown.min[m]);
    for (let i = 0; i < area; i++) pixels[i] = i < this.done ? LUT[flat ? 0 : shown.values[m * area + i]] : BLANK;
    this.built.getContext("2d").putImageData(image, 0, 0);
    const at = Math.max(0, this.done - 1), row = Math.floor(at / width), col = at % width;
    Object.assign(this.el.dataset, { step: this.done, positions: this.positions, row, col });
    const from = this.links.from(this.frame, this.target.name, m, row, col);
    this.outlineWindows(from ? from.boxes : []);
    this.outline(this.el.querySelector(".kernel-output"), "kernel-unit", [{ map: 0, top: row, left: col, bottom: row, right: col }],
      { columns: 1, w: width, h: height, width, height });
    const where = `position ${this.done} of ${this.positions}: row ${row}, column ${col}`;
    if (!this.done) {
      this.math.textContent = "";
      if (announce) this.where.textContent = `Step or play to slide filter ${m} over the input (${this.positions} positions).`;
      return;
    }
    const { value, text } = this.units.explain(this.frame, this.target.name, m, row, col);
    this.math.textContent = `${text}\n= ${f4(value)} (shown: ${f4(trueValue(shown, m, shown.values[m * area + at]))})`;
    if (announce) this.where.textContent = where;
  }

  outlineWindows(boxes) {
    this.outline(this.el.querySelector(".kernel-input"), "kernel-window", boxes, this.grid);
  }

  // Outlines over a canvas's grid of maps, in percent of it: they scale with the canvas.
  outline(wrap, className, boxes, { columns, w, h, width, height }) {
    wrap.querySelectorAll(`.${className}`).forEach((el) => el.remove());
    for (const box of boxes) {
      const left = (box.map % columns) * (w + 1) + box.left, top = Math.floor(box.map / columns) * (h + 1) + box.top;
      const el = document.createElement("div");
      el.className = className;
      Object.assign(el.dataset, { map: box.map, top: box.top, left: box.left, bottom: box.bottom, right: box.right });
      el.style.left = `${(100 * left) / width}%`;
      el.style.top = `${(100 * top) / height}%`;
      el.style.width = `${(100 * (box.right - box.left + 1)) / width}%`;
      el.style.height = `${(100 * (box.bottom - box.top + 1)) / height}%`;
      wrap.append(el);
    }
  }
}
