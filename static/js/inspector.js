// One map enlarged, updating live. Hover or touch a unit to read its value, see which
// input pixels it looks at, and how the value is computed.
import { LUT } from "./colormap.js";
import { trueValue } from "./frame.js";
import { KernelSteps } from "./kernel-steps.js";
import { SoftmaxView } from "./softmax-view.js";
import { UnitInputs } from "./unit-inputs.js";

const f4 = (v) => v.toFixed(4);

// Map m of `layer` on `canvas` (as big as one map), its bytes through `table` and the colour map.
function paintMap(canvas, layer, m, table, image) {
  const size = layer.width * layer.height;
  const pixels = new Uint32Array(image.data.buffer);
  const values = layer.values.subarray(m * size, (m + 1) * size);
  for (let i = 0; i < size; i++) pixels[i] = LUT[table[values[i]]];
  canvas.getContext("2d").putImageData(image, 0, 0);
}

// The input pixels [top, left, bottom, right] unit (row, col) reads: its field's path
// (model/fields.py), walked back layer by layer, clipping at each input's edges.
export function fieldBox(field, row, col) {
  const walk = (index, path) => {
    let low = index, high = index;
    for (const [window, stride, before, size] of [...path].reverse()) {
      low = Math.max(low * stride - before, 0);
      high = Math.min(high * stride - before + window - 1, size - 1);
    }
    return [low, high];
  };
  const [top, bottom] = walk(row, field.path[0]);
  const [left, right] = walk(col, field.path[1]);
  return [top, left, bottom, right];
}
const signed = (v) => (v < 0 ? `(${f4(v)})` : f4(v));
const PATCH_SCALE = 6; // canvas pixels a digit pixel: room for a 2-pixel outline on a cell's edge

// A top patch alone (top-patches files without the digits): its grey levels, 0..1.
function patchTile(data, patch) {
  const width = data.size, height = data.rows || data.size;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  patch.forEach((v, i) => {
    const g = Math.round(255 * v);
    image.data.set([g, g, g, 255], 4 * i);
  });
  ctx.putImageData(image, 0, 0);
  return canvas;
}

export class Inspector {
  // `fields`: frame layer name → its receptive field (model/fields.py); `units`: a UnitMath
  // (units.js) over the network's layer table; `inputShape`: the model's [h, w, c];
  // `topPatches()`: a promise of the top patches, fetched the first time it is asked;
  // `links`: a Links (links.js); `denseUnit(layer, unit)`: a promise of a dense unit's weights.
  // `topDigits(layer, channel)`: a promise of the digits a channel's top patches come from.
  constructor(dialog, { fields, units, inputShape, topPatches, topDigits, links, denseUnit }) {
    this.dialog = dialog;
    this.fields = fields;
    this.units = units;
    this.inputShape = inputShape;
    this.topPatches = topPatches;
    this.topDigits = topDigits;
    this.top = dialog.querySelector(".inspector-top");
    this.canvas = dialog.querySelector(".inspector-map");
    this.input = dialog.querySelector(".inspector-input canvas");
    this.title = dialog.querySelector(".inspector-title");
    this.readout = dialog.querySelector(".inspector-readout");
    this.math = dialog.querySelector(".inspector-math");
    this.target = null;
    this.layer = null;
    this.frame = null;
    this.caption = dialog.querySelector(".inspector-input figcaption");
    this.kernelSteps = new KernelSteps(dialog.querySelector(".kernel-steps"), { units, links });
    this.softmax = new SoftmaxView(dialog.querySelector(".softmax-view"));
    this.unitInputs = new UnitInputs(dialog.querySelector(".dense-inputs"), { links, denseUnit });
    dialog.querySelector(".inspector-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      this.target = null;
      this.kernelSteps.close();
      this.unitInputs.hide();
    });
    this.canvas.addEventListener("pointermove", (e) => this.hover(e));
    this.canvas.addEventListener("pointerdown", (e) => this.hover(e));
    // Keyboard: the arrow keys walk from unit to unit.
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("aria-label", "The map, enlarged: arrow keys move from unit to unit");
    this.canvas.addEventListener("keydown", (e) => this.step(e));
  }

  step(e) {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[e.key];
    if (!move || !this.layer) return;
    e.preventDefault();
    const [row, col] = this.unit || [0, 0];
    const clamp = (v, n) => Math.min(n - 1, Math.max(0, v));
    this.unit = [clamp(row + move[0], this.layer.height), clamp(col + move[1], this.layer.width)];
    this.readout.dataset.hovered = "1";
    this.show(...this.unit);
  }

  open(name, map, frame) {
    this.target = { name, map };
    this.unit = null;
    delete this.readout.dataset.hovered;
    this.math.textContent = "";
    this.showTopPatches(name, map);
    this.unitInputs.hide();
    if (!this.dialog.open) this.dialog.showModal();
    this.kernelSteps.open(name, map, frame);
    this.softmax.open(!!this.units.layer(name)?.output, frame);
    this.refresh(frame);
    this.canvas.focus();
  }

  // What this filter looks for: the MNIST test patches that excite its channel most (for
  // a conv layer's maps, and the maps made channel for channel from them).
  async showTopPatches(name, map) {
    const conv = this.units.convOf(name);
    this.top.hidden = true;
    if (!conv) return;
    let patches;
    try {
      patches = await this.topPatches(); // loaded the first time, then at once
    } catch {
      return; // the inspector works without them; the next map asks again
    }
    if (!this.target || this.target.name !== name || this.target.map !== map) return; // moved on meanwhile
    const data = patches[conv.name];
    if (!data) return;
    const digits = data.in_digits ? await this.topDigits(conv.name, map).catch(() => null) : null;
    if (!this.target || this.target.name !== name || this.target.map !== map) return;
    this.top.hidden = false;
    const row = this.top.querySelector(".top-patches");
    row.replaceChildren();
    const count = data.patches[map].length;
    data.patches[map].forEach((patch, k) => row.append(digits ? this.patchInDigit(conv, data, digits, map, k) : patchTile(data, patch)));
    const height = data.rows || data.size;
    this.top.querySelector("figcaption").textContent = digits
      ? `What ${conv.name} filter ${map} responds to most: the ${count} MNIST test digits that excite it most, each with the ${height}×${data.size} receptive field of its strongest unit outlined`
      : `What ${conv.name} filter ${map} responds to most: the ${count} MNIST test patches (its ${height}×${data.size} receptive field) that excite it most`;
  }

  // Patch k of filter `map` inside the whole digit it came from, its field outlined: the
  // digit at PATCH_SCALE canvas pixels a pixel, the outline on the edge pixels of its cells.
  patchInDigit(conv, data, digits, map, k) {
    digits.bytes ||= Uint8Array.from(atob(digits.digits), (c) => c.charCodeAt(0));
    const [h, w] = digits.size, s = PATCH_SCALE;
    const row = data.unit_rows[map][k], col = data.unit_cols[map][k];
    const [top, left, bottom, right] = fieldBox(this.fields[conv.frame_name], row, col);
    const canvas = document.createElement("canvas");
    canvas.width = w * s;
    canvas.height = h * s;
    canvas.className = "in-digit";
    Object.assign(canvas.dataset, { row, col, top, left, bottom, right, scale: s });
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `MNIST test digit, ${conv.name} unit at row ${row}, column ${col}: its field, rows ${top}–${bottom}, columns ${left}–${right}, outlined`);
    const ctx = canvas.getContext("2d");
    const digit = digits.bytes.subarray(k * h * w, (k + 1) * h * w);
    digit.forEach((g, i) => {
      ctx.fillStyle = `rgb(${g},${g},${g})`;
      ctx.fillRect((i % w) * s, Math.floor(i / w) * s, s, s);
    });
    ctx.strokeStyle = getComputedStyle(this.top).getPropertyValue("--accent").trim() || "#ffd23f";
    ctx.lineWidth = 2;
    ctx.strokeRect(left * s + 1, top * s + 1, (right - left + 1) * s - 2, (bottom - top + 1) * s - 2);
    return canvas;
  }

  refresh(frame) {
    if (!this.target) return;
    this.frame = frame;
    this.kernelSteps.refresh(frame);
    this.softmax.refresh(frame);
    const layer = frame && frame.layers.find((l) => l.name === this.target.name);
    this.layer = layer || null;
    if (!layer) {
      this.readout.textContent = "Nothing drawn.";
      this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
      this.drawInput(null);
      return;
    }
    const m = this.target.map;
    const dense = layer.height === 1;
    this.caption.textContent = dense
      ? "Input; a dense unit reads every value of the layer before: point at a unit for its strongest inputs"
      : "Input; outlined: what this unit sees";
    this.title.textContent = dense ? `${layer.name} · ${layer.width} units` : `${layer.name} · map ${m} · ${layer.height}×${layer.width}`;
    this.canvas.width = layer.width;
    this.canvas.height = layer.height;
    this.canvas.classList.toggle("strip", dense);
    const identity = Uint8Array.from({ length: 256 }, (_, q) => (layer.max[m] > layer.min[m] ? q : 0));
    paintMap(this.canvas, layer, m, identity, new ImageData(layer.width, layer.height));
    if (this.unit) this.show(...this.unit);
    else {
      this.drawInput(null);
      this.readout.textContent = `min ${f4(layer.min[m])} · max ${f4(layer.max[m])} — point at a unit to read its value`;
    }
  }

  hover(e) {
    const layer = this.layer;
    if (!layer) return;
    const rect = this.canvas.getBoundingClientRect();
    const col = Math.min(layer.width - 1, Math.floor(((e.clientX - rect.left) / rect.width) * layer.width));
    const row = Math.min(layer.height - 1, Math.floor(((e.clientY - rect.top) / rect.height) * layer.height));
    this.readout.dataset.hovered = "1";
    this.unit = [row, col];
    this.show(row, col);
  }

  show(row, col) {
    const layer = this.layer, m = this.target.map;
    if (layer.height === 1) {
      this.readout.textContent = `unit ${col}: ${f4(this.units.shown(this.frame, layer.name, m, row, col))}`;
      this.math.textContent = "";
      this.drawInput(null);
      this.unitInputs.show(this.frame, layer.name, col);
      return;
    }
    const { value, text } = this.units.explain(this.frame, layer.name, m, row, col);
    const field = this.fields[layer.name];
    const region = field ? fieldBox(field, row, col) : null;
    this.drawInput(region);
    const sees = region ? ` · sees input rows ${region[0]}–${region[2]}, columns ${region[1]}–${region[3]}` : "";
    this.readout.textContent = `row ${row}, column ${col}: ${f4(value)}${sees}`;
    this.math.textContent = text;
  }

  // The frame's 28x28 picture of the input, with the unit's field (in the model's input
  // pixels, scaled to the picture) outlined.
  drawInput(region) {
    const ctx = this.input.getContext("2d");
    const size = this.input.width, cell = size / 28;
    ctx.fillStyle = "#000"; // the network's own colours: white ink on black
    ctx.fillRect(0, 0, size, size);
    if (!this.frame) return;
    for (let i = 0; i < 784; i++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, this.frame.image[i])));
      if (!v) continue;
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect((i % 28) * cell, Math.floor(i / 28) * cell, cell, cell);
    }
    if (!region) return;
    const [height, width] = this.inputShape;
    const [top, left, bottom, right] = region;
    const y = size / height, x = size / width;
    ctx.strokeStyle = getComputedStyle(this.input).getPropertyValue("--accent").trim() || "#ffd23f";
    ctx.lineWidth = 2;
    ctx.strokeRect(left * x + 1, top * y + 1, (right - left + 1) * x - 2, (bottom - top + 1) * y - 2);
  }
}
