// How each layer feeds the next, on the maps: pointing at a unit (mouse move; a finger:
// press) outlines what it is computed from in the layer before (a conv unit: its window in
// every input map, bolder where w·x adds up to more) and what reads it in the layer after
// (links.js says which units). The outlines are positioned elements, placed from the
// canvases' geometry at the moment of pointing, so they follow any layout; each carries
// its layer, map and rows/columns as data attributes. A live region says the same in words.
// The keyboard does the same on a focused layer (keyboard-cursor.js moves the cursor).
import { trueValue } from "./frame.js";
import { formatValue } from "./legend.js";
import { KeyboardCursor } from "./keyboard-cursor.js";
import { Links } from "./links.js";

const geometry = (c) => {
  const columns = +c.dataset.columns, maps = +c.dataset.maps, w = +c.dataset.mapWidth, h = +c.dataset.mapHeight;
  const rows = Math.ceil(maps / columns);
  return { columns, maps, w, h, width: columns * (w + 1) - 1, height: h === 1 ? 1 : rows * (h + 1) - 1 };
};

export class Connections {
  // `root`: the element holding the layers' sections (LayerView's); `network`: network.json;
  // `inputCanvas`: the page's 28x28 view of the input (a conv of the input outlines there);
  // `denseUnit(layer, unit)`: a promise of a dense unit's weights (unit_weights.py);
  // `denseInput(layer, index)`: of a dense layer's input's weights to its units.
  constructor(root, network, { inputCanvas = null, denseUnit = null, denseInput = null } = {}) {
    this.root = root;
    this.links = new Links(network);
    this.inputCanvas = inputCanvas;
    this.denseUnit = denseUnit;
    this.denseInput = denseInput;
    this.frame = null;
    this.pointed = null; // { name, m, row, col }
    this.layer = document.createElement("div"); // the outlines, in page coordinates
    this.layer.className = "connections";
    this.layer.setAttribute("aria-hidden", "true");
    document.body.append(this.layer);
    this.live = document.createElement("p");
    this.live.className = "connections-live";
    this.live.setAttribute("aria-live", "polite");
    root.append(this.live);
    root.addEventListener("pointermove", (e) => this.point(e));
    root.addEventListener("pointerdown", (e) => this.point(e)); // a finger: pressing shows them
    root.addEventListener("pointerout", (e) => e.target.matches?.("canvas.layer-maps") && e.pointerType === "mouse" && this.clear());
    // Outlines sit where the maps were: a scroll (of the page or of a panel) moves the maps.
    document.addEventListener("scroll", () => this.scrolled(), { capture: true, passive: true });
    this.keys = new KeyboardCursor(root, this);
  }

  // A pointer's outlines go (the pointer has moved off them); a keyboard cursor's follow.
  scrolled() {
    if (!this.pointed?.keyboard) return this.clear();
    cancelAnimationFrame(this.replace);
    this.replace = requestAnimationFrame(() => this.pointed && this.show(this.pointed));
  }

  // The frame on screen (null: nothing drawn): what a conv's and a dense unit's weights read.
  refresh(frame) {
    this.frame = frame;
    if (!frame) this.clear();
    else if (this.pointed) this.show(this.pointed);
  }

  clear() {
    this.pointed = null;
    this.layer.replaceChildren();
  }

  point(e) {
    const canvas = e.target.closest?.("canvas.layer-maps");
    if (!canvas || !this.frame) return;
    const unit = this.unitAt(canvas, e);
    if (!unit) return this.clear();
    const p = this.pointed;
    if (p && p.name === unit.name && p.m === unit.m && p.row === unit.row && p.col === unit.col) return;
    this.show(unit);
  }

  // The unit under a pointer event: { name, m, row, col }, or null in a gap.
  unitAt(canvas, e) {
    const g = geometry(canvas);
    const rect = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) / rect.width) * g.width);
    const y = Math.floor(((e.clientY - rect.top) / rect.height) * g.height);
    const name = canvas.closest(".layer").dataset.layer;
    if (this.isDense(name)) {
      // A dense layer is drawn as a grid of its units, row by row: the unit's index is its column.
      const unit = y * g.w + x, units = this.links.byFrame[name].shape[0];
      return x >= 0 && x < g.w && y >= 0 && y < g.h && unit < units ? { name, m: 0, row: 0, col: unit } : null;
    }
    const gx = Math.floor(x / (g.w + 1)), gy = Math.floor(y / (g.h + 1));
    const col = x - gx * (g.w + 1), row = y - gy * (g.h + 1), m = gy * g.columns + gx;
    if (col >= g.w || row >= g.h || gx >= g.columns || m >= g.maps || x < 0 || y < 0) return null;
    return { name, m, row, col };
  }

  async show(unit) {
    this.pointed = unit;
    const { name, m, row, col } = unit;
    const frame = this.frame;
    const [dense, reads] = await Promise.all([this.weightsOf(name, col), this.readsOf(name, m, row, col)]);
    if (this.pointed !== unit || this.frame !== frame) return; // moved on meanwhile
    const from = this.links.from(frame, name, m, row, col, dense);
    const to = this.links.to(frame, name, m, row, col, reads);
    this.layer.replaceChildren();
    this.outline(name, [{ map: m, top: row, left: col, bottom: row, right: col, weight: 1 }], unit.keyboard ? "unit keyboard" : "unit");
    if (from) this.outline(from.layer, from.boxes, "source");
    if (to) this.outline(to.layer, to.boxes, "target");
    const says = [this.valueOf(frame, unit), from && from.text, to && to.text].filter(Boolean).join("; ");
    this.live.textContent = `${this.nameOf(unit)}: ${says}`;
  }

  // "pool2 map 3, row 2, column 4", or "dense1 unit 7".
  nameOf({ name, m, row, col }) {
    return this.isDense(name) ? `${name} unit ${col}` : `${name} map ${m}, row ${row}, column ${col}`;
  }

  valueOf(frame, { name, m, row, col }) {
    const shown = frame.layers.find((l) => l.name === name);
    return shown ? formatValue(trueValue(shown, m, shown.values[(m * shown.height + row) * shown.width + col])) : "";
  }

  isDense(name) {
    return this.links.byFrame[name]?.shape.length === 1;
  }

  async weightsOf(name, unit) {
    if (this.links.byFrame[name]?.kind !== "dense" || !this.denseUnit) return null;
    try {
      return await this.denseUnit(name, unit);
    } catch {
      return null; // the outlines go on without its inputs
    }
  }

  // The unit's weights to the dense layer reading it, if one does.
  async readsOf(name, m, row, col) {
    const reader = this.denseInput && this.links.denseReader(name, m, row, col);
    if (!reader) return null;
    try {
      return await this.denseInput(reader.layer, reader.index);
    } catch {
      return null; // the whole dense layer is outlined instead
    }
  }

  // Boxes in the maps of `name` (a frame layer, or "input"), each a positioned outline whose
  // thickness and opacity follow its weight relative to the largest.
  outline(name, boxes, role) {
    const canvas = name === "input" ? this.inputCanvas : this.root.querySelector(`.layer[data-layer="${name}"] canvas.layer-maps`);
    if (!canvas || !boxes.length) return;
    const g = name === "input" ? { columns: 1, maps: 1, w: canvas.width, h: canvas.height, width: canvas.width, height: canvas.height } : geometry(canvas);
    const rect = canvas.getBoundingClientRect();
    if (!rect.width) return;
    const sx = rect.width / g.width, sy = rect.height / g.height;
    const biggest = Math.max(...boxes.map((b) => b.weight)) || 1;
    const dense = name !== "input" && this.isDense(name);
    for (const box of boxes) {
      const cells = dense ? denseCells(box, g.w) : box; // data-* keep unit indices; the outline follows the grid
      const left = (box.map % g.columns) * (g.w + 1) + cells.left, top = Math.floor(box.map / g.columns) * (g.h + 1) + cells.top;
      const el = document.createElement("div");
      el.className = `connection-box ${role}`;
      Object.assign(el.dataset, { layer: name, role: role.split(" ")[0], map: box.map, top: box.top, left: box.left, bottom: box.bottom, right: box.right, weight: box.weight });
      const share = box.weight / biggest;
      el.style.setProperty("--share", share.toFixed(3));
      el.style.left = `${rect.left + window.scrollX + left * sx}px`;
      el.style.top = `${rect.top + window.scrollY + top * sy}px`;
      el.style.width = `${(cells.right - cells.left + 1) * sx}px`;
      el.style.height = `${(cells.bottom - cells.top + 1) * sy}px`;
      this.layer.append(el);
    }
  }
}

// A run of dense units (box.left..box.right) in a grid `w` units wide: its cell when it is one
// unit, else the rows it spans, whole.
function denseCells(box, w) {
  const top = Math.floor(box.left / w), bottom = Math.floor(box.right / w);
  if (box.left === box.right) return { top, bottom, left: box.left % w, right: box.left % w };
  return { top, bottom, left: top === bottom ? box.left % w : 0, right: top === bottom ? box.right % w : w - 1 };
}
