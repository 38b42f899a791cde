// Every layer's activation maps as a grid of heatmaps in one canvas; dense layers as strips.
// The canvases are painted by a worker (painter.js): here only the page around them.
import { trueValue } from "./frame.js";
import { breakBands, planSections } from "./layer-layout.js";
import { buildSection } from "./layer-section.js";
import { formatValue as fmt } from "./legend.js";
import { Painter } from "./painter.js";
import { setText } from "./text.js";
import { Throttle } from "./throttle.js";

// The legend's range and the output's percentages while someone else's results stream in
// (follow me): at most this often, as text that changes every frame cannot be read, and each
// change costs the page a layout. While this page's own pen draws they wait for its final
// result, as the strip's percentages do (prediction.js), and that result's are always shown
// (describe()).
const RANGE_EVERY_MS = 250;

// Each layer is one canvas: its maps as a grid with a 1-pixel gap (dense layers: a strip),
// scaled up by CSS; hundreds of small canvases would cost the browser a composited layer
// each, every frame. Each canvas is handed to the paint worker when it is made, which
// decodes, derives and paints every frame off the main thread; the frame's values come
// back here for the text alternatives and the inspector. The canvas is one tab stop: arrow
// keys move a focus box from map to map, Enter or Space opens the focused map, and the
// canvas's accessible name is the focused map's description; a click opens the map under it.
export class LayerView {
  // `notes`: layer name → explanations to show with its maps (see model/architecture.py).
  // `kernels`: conv layer name → its filters as small signed images (webapp/views.py), exact:
  // also what the worker computes conv layers with. `batchnorm`: batchnorm layer name →
  // {scale, shift}, exact, what the worker computes batchnorm layers with (network.js).
  // `options`: `legend` (legend.js) for the numbers of the scale shown, `classes` the output's
  // labels (the digits), shown beside its units, `painter` the Painter (painter.js) to paint
  // with: the page makes it early, so that its worker's link connects while the page loads.
  constructor(root, onSelect, notes = {}, kernels = {}, batchnorm = {}, { legend = null, classes = [], painter = new Painter() } = {}) {
    this.root = root;
    this.legend = legend;
    this.classes = classes;
    this.selected = null; // the layer whose explanation and range are shown
    this.pointed = -1; // the map pointed at in it (the per-map scale's legend)
    this.note = document.createElement("div");
    this.note.className = "layer-note";
    this.note.setAttribute("aria-live", "polite");
    // A long explanation scrolls in its few lines: a tab stop, so a keyboard can scroll it too.
    this.note.tabIndex = 0;
    this.note.setAttribute("role", "note");
    this.note.setAttribute("aria-label", "About the selected layer");
    root.after(this.note);
    this.painter = painter;
    painter.useNetwork(kernels, batchnorm, (layers) => this.buildAll(layers));
    this.onSelect = onSelect;
    this.notes = notes;
    this.kernels = kernels;
    this.sections = new Map();
    this.scale = "layer";
    this.frame = null;
    this.help = document.createElement("p");
    this.help.id = `${root.id}-maps-help`;
    this.help.hidden = true;
    this.help.textContent = "Arrow keys move from map to map; Enter opens the map enlarged. Shift with arrow keys (in a dense layer, arrow keys alone) moves a unit cursor: it says where the unit comes from and what reads it. Escape clears it.";
    this.live = document.createElement("p");
    this.live.className = "map-live";
    this.live.setAttribute("aria-live", "polite");
    this.probe = document.createElement("div"); // measures --map-size in pixels
    this.probe.style.cssText = "position:absolute;visibility:hidden;height:0;width:var(--map-size)";
    root.append(this.help, this.live, this.probe);
    this.room = "";
    this.ranges = new Throttle(RANGE_EVERY_MS, () => this.showRanges());
    // The maps' sizes follow the room the view has: the window, presenter mode, the notes.
    new ResizeObserver(() => {
      const room = `${root.clientWidth}x${root.clientHeight}`;
      if (room === this.room) return;
      this.room = room;
      this.layoutAll();
    }).observe(root);
  }

  // The first frame's layers (the worker asks for their canvases): their sections, laid out together.
  buildAll(layers) {
    layers.forEach((layer, i) => this.build(layer, i === layers.length - 1));
    this.layoutAll();
    if (!this.selected && layers.length) this.select(layers[0].name);
  }

  setScale(scale) {
    this.scale = scale;
    this.painter.setScale(scale);
    this.showLegend();
  }

  // A frame (an ArrayBuffer, taken) to paint; `onShown(frame)` once it is painted, with its
  // values, unless a newer frame or a clear overtook it (painter.js).
  show(bytes, onShown) {
    this.painter.show(bytes, onShown);
  }

  // The page around the maps for a frame the worker has painted (its first frame asked for
  // every layer's section: build()).
  // `pending`: this page's own drawing, whose final result has not come yet (the pen on the
  // paper, or frames of the stroke it just lifted from); `final`: the finished drawing's
  // result, whose numbers describe() shows (the page calls it a display frame later).
  render(frame, { pending = false, final = false } = {}) {
    this.frame = frame;
    if (this.root.classList.contains("is-empty")) this.root.classList.remove("is-empty"); // a write is a mutation, even of nothing
    if (pending) this.drawing(true);
    if (pending || final) return this.ranges.cancel();
    this.drawing(false);
    this.ranges.call();
  }

  // The numbers are hidden until the drawing's final result: they would be an earlier drawing's.
  drawing(on) {
    if (this.root.classList.contains("drawing") === on) return;
    this.root.classList.toggle("drawing", on);
    this.legend?.root.classList.toggle("drawing", on);
  }

  showRanges() {
    this.showLegend();
    for (const section of this.sections.values()) if (section.labels) this.showLabels(section);
  }

  // The legend's numbers: the selected layer's range under the scale in use (per map: the
  // map pointed at, else the layer's first).
  showLegend() {
    const layer = this.frame?.layers.find((l) => l.name === this.selected);
    if (!this.legend) return;
    if (!layer) return this.legend.clear();
    if (this.scale === "map" && layer.maps > 1) {
      const m = Math.max(0, this.pointed);
      return this.legend.show(`${layer.name} map ${m}`, layer.min[m], layer.max[m]);
    }
    let lo = Infinity, hi = -Infinity;
    for (let m = 0; m < layer.maps; m++) {
      if (layer.min[m] < lo) lo = layer.min[m];
      if (layer.max[m] > hi) hi = layer.max[m];
    }
    this.legend.show(layer.name, lo, hi);
  }

  // The output's units labelled with their classes and probabilities.
  showLabels(section) {
    section.labels.forEach((label, d) => {
      const text = `${(100 * this.frame.probabilities[d]).toFixed(0)}%`;
      setText(label.value, text);
    });
  }

  // The layer whose explanation the note shows and whose range the legend gives.
  select(name, map = -1) {
    if (!this.sections.has(name)) return;
    if (name !== this.selected) {
      this.sections.get(this.selected)?.el.classList.remove("is-selected");
      this.selected = name;
      const section = this.sections.get(name);
      section.el.classList.add("is-selected");
      this.note.replaceChildren(...(this.notes[name] || []).map((text) => Object.assign(document.createElement("p"), { className: "explain", textContent: text })));
      this.note.dataset.layer = name;
    }
    this.pointed = map;
    this.showLegend();
  }

  // Text alternatives: where each map responds most, with its true value. A map's words are
  // worked out when asked for (the focused map's now, a pointed one's on pointing): every
  // map's at once took most of the finished drawing's second frame at a phone's speed
  // (bench/RESULTS.md 6k).
  describe() {
    const frame = this.frame;
    if (!frame) return;
    this.drawing(false);
    this.ranges.now();
    for (const layer of frame.layers) {
      const section = this.sections.get(layer.name);
      section.described = layer;
      section.texts.fill(null);
      this.label(section);
    }
  }

  // The words for map `m` of the described frame, or what the map does before there is one.
  mapText(section, m) {
    if (!section.described) return this.placeholder(section, m);
    return (section.texts[m] ??= describeMap(section.described, m));
  }

  // Every map blank (the worker paints them so); frames on their way are dropped.
  clear() {
    this.frame = null;
    this.ranges.cancel();
    this.root.classList.add("is-empty");
    this.drawing(false);
    this.painter.clear();
    this.legend?.clear();
    for (const section of this.sections.values()) {
      section.described = null;
      section.texts.fill(null);
      section.labels?.forEach((label) => setText(label.value, ""));
      this.label(section);
    }
  }

  // The focused map's description (or what it does, before there is one) as the canvas's name.
  label(section, announce = false) {
    const text = this.mapText(section, section.focus);
    section.canvas.setAttribute("aria-label", text);
    section.canvas.dataset.focus = section.focus; // where the keyboard's unit cursor goes (keyboard-cursor.js)
    if (announce) this.live.textContent = text;
  }

  placeholder({ name, dense }, m) {
    return dense ? `${name}: open to read unit values` : `${name} map ${m}: open enlarged`;
  }

  // The map under a pointer event, or -1 (between two rows past the last map).
  mapAt(section, e) {
    const { canvas, columns, w, h, maps, width, height } = section;
    const rect = canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * width;
    const y = ((e.clientY - rect.top) / rect.height) * height;
    const col = Math.min(columns - 1, Math.max(0, Math.floor(x / (w + 1))));
    const row = Math.max(0, Math.floor(y / (h + 1)));
    const m = row * columns + col;
    return m < maps ? m : -1;
  }

  moveFocus(section, m) {
    section.focus = Math.min(section.maps - 1, Math.max(0, m));
    this.select(section.name, section.focus);
    this.placeFocusBox(section);
    this.label(section, true);
  }

  placeFocusBox(section) {
    const { columns, w, h, focus, box, width, height } = section;
    const col = focus % columns, row = Math.floor(focus / columns);
    box.style.left = `${(100 * col * (w + 1)) / width}%`;
    box.style.top = `${(100 * row * (h + 1)) / height}%`;
    box.style.width = `${(100 * w) / width}%`;
    box.style.height = `${(100 * h) / height}%`;
  }

  // Every layer's grid, planned together from the room the view has (layer-layout.js).
  layoutAll() {
    const sections = [...this.sections.values()];
    if (!sections.length) return;
    const { plan, columns } = planSections(this.root, sections, this.probe);
    sections.forEach((section, i) => this.apply(section, plan[i], columns));
    breakBands(this.root, sections, plan);
  }

  // One layer's planned grid (fit.js): its canvas's size on the page, and its geometry in
  // canvas pixels for the worker (dense units: one "map" of cols × rows squares, no gaps).
  apply(section, g, columns) {
    const { canvas, dense } = section;
    section.el.style.width = columns ? `${g.columnWidth}px` : "";
    const w = dense ? g.columns : section.mapW, h = dense ? g.rows : section.mapH;
    const across = dense ? 1 : g.columns, down = dense ? 1 : g.rows;
    const width = dense ? w : across * (w + 1) - 1, height = dense ? h : down * (h + 1) - 1;
    canvas.style.width = `${dense ? g.columns * g.cell : g.width}px`;
    canvas.style.aspectRatio = `${width} / ${height}`;
    if (section.labels) section.labelList.style.gridAutoRows = `${g.cell}px`;
    if (section.adopted && across === section.columns && w === section.w && h === section.h) return; // only its size changed
    Object.assign(section, { columns: across, w, h, width, height });
    Object.assign(canvas.dataset, { columns: across, mapWidth: w, mapHeight: h });
    section.kernels?.layout(across);
    this.placeFocusBox(section);
    const geometry = { columns: across, w, h, maps: dense ? 1 : section.maps, width, height };
    if (section.adopted) this.painter.layout(section.name, geometry); // the worker repaints it
    else {
      canvas.width = width; // the size the worker's canvas starts with
      canvas.height = height;
      this.painter.adopt(section.name, canvas, geometry);
      section.adopted = true;
    }
  }

  // The words for what the pointer is on: a dense unit and its value, a filter, or a map.
  pointedText(section, e, m) {
    const rect = section.canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * section.width;
    const y = ((e.clientY - rect.top) / rect.height) * section.height;
    const layer = this.frame?.layers.find((l) => l.name === section.name);
    if (section.dense) {
      const unit = Math.floor(y) * section.w + Math.floor(x);
      if (unit >= section.units) return "";
      const label = section.labels ? ` (${this.classes[unit]})` : "";
      return layer ? `${section.name} unit ${unit}${label}: ${fmt(trueValue(layer, 0, layer.values[unit]))}` : `${section.name} unit ${unit}${label}`;
    }
    const f = document.body.classList.contains("show-filters") && section.kernels ? section.kernels.filterAt(x, y) : -1;
    if (f >= 0) return section.kernels.texts[f];
    return m < 0 ? "" : this.mapText(section, m);
  }

  // `last`: the network's output, whose units get the classes' labels.
  build(layer, last = false) {
    const section = buildSection(layer, { kernels: this.kernels[layer.name], help: this.help, classes: last ? this.classes : null });
    this.listen(section);
    this.root.append(section.el);
    this.sections.set(layer.name, section);
    this.label(section);
    return section;
  }

  // A click opens the map under it; pointing selects it (the legend gives its range) and the
  // canvas's title says what is under the pointer; arrow keys move the focus box.
  listen(section) {
    const { canvas, name } = section;
    canvas.addEventListener("click", (e) => {
      const m = this.mapAt(section, e);
      if (m < 0) return;
      section.focus = m;
      this.placeFocusBox(section);
      this.label(section);
      this.select(name, m);
      this.onSelect(name, m);
    });
    canvas.addEventListener("pointermove", (e) => {
      const m = this.mapAt(section, e);
      if (this.selected !== name || this.pointed !== m) this.select(name, m);
      const text = this.pointedText(section, e, m);
      if (canvas.title !== text) canvas.title = text;
    });
    canvas.addEventListener("focus", () => this.select(name, section.focus));
    canvas.addEventListener("keydown", (e) => this.key(section, e));
  }

  key(section, e) {
    if (e.shiftKey) return; // Shift + arrows: the unit cursor (keyboard-cursor.js)
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -section.columns, ArrowDown: section.columns }[e.key];
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.onSelect(section.name, section.focus);
    } else if (step !== undefined || e.key === "Home" || e.key === "End") {
      e.preventDefault();
      const target = e.key === "Home" ? 0 : e.key === "End" ? section.maps - 1 : section.focus + step;
      if (target >= 0 && target < section.maps) this.moveFocus(section, target);
    }
  }
}

// Where map `m` of a frame's layer responds most, with its true value.
function describeMap(layer, m) {
  const size = layer.width * layer.height;
  const values = layer.values.subarray(m * size, (m + 1) * size);
  let best = 0;
  for (let i = 1; i < size; i++) if (values[i] > values[best]) best = i;
  const row = Math.floor(best / layer.width), col = best % layer.width;
  const name = layer.height === 1 ? layer.name : `${layer.name} map ${m}`;
  const value = fmt(layer.max[m]);
  if (layer.max[m] === layer.min[m]) return `${name}: all ${value}`;
  return `${name}: strongest at ${layer.height === 1 ? `unit ${col}` : `row ${row}, column ${col}`}, ${value}`;
}
