// Every layer's activation maps as a grid of heatmaps in one canvas; dense layers as strips.
// The canvases are painted by a worker (painter.js): here only the page around them.
import { LUT, diverging } from "./colormap.js";
import { Painter } from "./painter.js";

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

export function layerLabel(layer) {
  return layer.height === 1
    ? `${layer.name} · ${layer.width} units`
    : `${layer.name} · ${layer.maps} maps · ${layer.height}×${layer.width}`;
}

const FALLBACK_COLUMNS = 24; // while the view is hidden (the teacher's stage before it opens)
// Each layer's "values lo … hi" while results stream in: at most this often, as text that
// changes every frame cannot be read, and each change costs the page a layout. The final
// result's ranges are always shown (describe()).
const RANGE_EVERY_MS = 250;

export function paintMap(canvas, layer, m, table, image) {
  const size = layer.width * layer.height;
  const pixels = new Uint32Array(image.data.buffer);
  const values = layer.values.subarray(m * size, (m + 1) * size);
  for (let i = 0; i < size; i++) pixels[i] = LUT[table[values[i]]];
  canvas.getContext("2d").putImageData(image, 0, 0);
}

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
  constructor(root, onSelect, notes = {}, kernels = {}, batchnorm = {}) {
    this.root = root;
    this.painter = new Painter(kernels, (layers) => layers.forEach((layer) => this.build(layer)), batchnorm);
    this.onSelect = onSelect;
    this.notes = notes;
    this.kernels = kernels;
    this.sections = new Map();
    this.scale = "map";
    this.frame = null;
    this.help = document.createElement("p");
    this.help.id = `${root.id}-maps-help`;
    this.help.hidden = true;
    this.help.textContent = "Arrow keys move from map to map; Enter opens the map enlarged.";
    this.live = document.createElement("p");
    this.live.className = "map-live";
    this.live.setAttribute("aria-live", "polite");
    this.probe = document.createElement("div"); // measures --map-size in pixels
    this.probe.style.cssText = "position:absolute;visibility:hidden;height:0;width:var(--map-size)";
    root.append(this.help, this.live, this.probe);
    this.width = 0;
    this.rangesShown = -Infinity; // when the layers' ranges were last updated
    new ResizeObserver(() => {
      if (this.root.clientWidth === this.width) return;
      this.width = this.root.clientWidth;
      for (const section of this.sections.values()) this.layout(section);
    }).observe(root);
  }

  setScale(scale) {
    this.scale = scale;
    this.painter.setScale(scale);
  }

  // A frame (an ArrayBuffer, taken) to paint; `onShown(frame)` once it is painted, with its
  // values, unless a newer frame or a clear overtook it (painter.js).
  show(bytes, onShown) {
    this.painter.show(bytes, onShown);
  }

  // The page around the maps for a frame the worker has painted (its first frame asked for
  // every layer's section: build()).
  render(frame) {
    this.frame = frame;
    this.root.classList.remove("is-empty");
    if (performance.now() - this.rangesShown >= RANGE_EVERY_MS) this.showRanges();
  }

  showRanges() {
    this.rangesShown = performance.now();
    for (const layer of this.frame.layers) this.showRange(this.sections.get(layer.name), layer);
  }

  showRange(section, layer) {
    let lo = Infinity, hi = -Infinity;
    for (let m = 0; m < layer.maps; m++) {
      if (layer.min[m] < lo) lo = layer.min[m];
      if (layer.max[m] > hi) hi = layer.max[m];
    }
    if (lo !== section.lo || hi !== section.hi) {
      section.lo = lo;
      section.hi = hi;
      section.range.textContent = `values ${fmt(lo)} … ${fmt(hi)}`;
    }
  }

  // Text alternatives: where each map responds most, with its true value.
  describe() {
    const frame = this.frame;
    if (!frame) return;
    this.showRanges();
    for (const layer of frame.layers) {
      const section = this.sections.get(layer.name);
      const size = layer.width * layer.height;
      for (let m = 0; m < layer.maps; m++) {
        const values = layer.values.subarray(m * size, (m + 1) * size);
        let best = 0;
        for (let i = 1; i < size; i++) if (values[i] > values[best]) best = i;
        const row = Math.floor(best / layer.width), col = best % layer.width;
        const value = fmt(layer.max[m]);
        const where = layer.height === 1 ? `unit ${col}` : `row ${row}, column ${col}`;
        section.texts[m] = layer.max[m] === layer.min[m]
          ? `${layer.name}${layer.height === 1 ? "" : ` map ${m}`}: all ${value}`
          : `${layer.name}${layer.height === 1 ? "" : ` map ${m}`}: strongest at ${where}, ${value}`;
      }
      this.label(section);
      section.hovered = -1; // the tooltip follows on the next pointer move
    }
  }

  // Every map blank (the worker paints them so); frames on their way are dropped.
  clear() {
    this.frame = null;
    this.root.classList.add("is-empty");
    this.painter.clear();
    for (const section of this.sections.values()) {
      section.range.textContent = "";
      section.lo = section.hi = NaN;
      section.texts.fill(null);
      this.label(section);
    }
  }

  // The focused map's description (or what it does, before there is one) as the canvas's name.
  label(section, announce = false) {
    const text = section.texts[section.focus] || this.placeholder(section, section.focus);
    section.canvas.setAttribute("aria-label", text);
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

  // How many maps a row holds at the current width: the maps keep their --map-size each.
  layout(section) {
    const { canvas, w, h, maps, dense } = section;
    let columns = 1;
    if (!dense) {
      const size = this.probe.getBoundingClientRect().width, available = section.grid.parentElement.clientWidth;
      const pitch = (size * (w + 1)) / w; // a map and its 1-pixel gap, scaled like the map
      columns = size > 0 && available > 0 ? Math.floor((available + size / w) / pitch) : FALLBACK_COLUMNS;
      columns = Math.min(maps, Math.max(1, columns));
      columns = Math.ceil(maps / Math.ceil(maps / columns)); // rows as even as they can be
    }
    if (columns === section.columns) return;
    const rows = Math.ceil(maps / columns);
    section.columns = columns;
    section.width = dense ? w : columns * (w + 1) - 1;
    section.height = dense ? 1 : rows * (h + 1) - 1;
    canvas.dataset.columns = columns;
    if (!dense) {
      canvas.style.width = `calc(var(--map-size) * ${section.width / w})`;
      // The box's shape at once: the canvas's own size follows when the worker next paints.
      canvas.style.aspectRatio = `${section.width} / ${section.height}`;
    }
    if (section.kernels) section.kernels.layout(columns, canvas.style.width);
    this.placeFocusBox(section);
    const geometry = { columns, w, h, maps, width: section.width, height: section.height };
    if (section.adopted) this.painter.layout(section.name, geometry); // the worker repaints it
    else {
      canvas.width = section.width; // the size the worker's canvas starts with
      canvas.height = section.height;
      this.painter.adopt(section.name, canvas, geometry);
      section.adopted = true;
    }
  }

  build(layer) {
    const el = document.createElement("section");
    const dense = layer.height === 1;
    el.className = dense ? "layer layer-dense" : "layer";
    el.id = `layer-${layer.name}`;
    el.dataset.layer = layer.name;
    el.innerHTML = `<h3><span class="layer-name"></span> <span class="layer-range"></span></h3><div class="maps"><canvas class="layer-maps"></canvas><div class="map-focus"></div></div>`;
    el.querySelector(".layer-name").textContent = layerLabel(layer);
    const grid = el.querySelector(".maps");
    for (const text of this.notes[layer.name] || []) {
      const note = document.createElement("p");
      note.className = "explain";
      note.textContent = text;
      grid.before(note);
    }
    const kernels = this.kernels[layer.name] && !dense ? new KernelRow(layer.name, this.kernels[layer.name], layer.width) : null;
    if (kernels) grid.before(kernels.el);
    const canvas = el.querySelector("canvas.layer-maps");
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "button");
    canvas.setAttribute("aria-describedby", this.help.id);
    canvas.dataset.maps = layer.maps;
    canvas.dataset.mapWidth = layer.width;
    canvas.dataset.mapHeight = dense ? 1 : layer.height;
    const section = {
      el, grid, canvas, box: el.querySelector(".map-focus"), range: el.querySelector(".layer-range"),
      kernels, name: layer.name, dense, w: layer.width, h: layer.height, maps: layer.maps, columns: 0, focus: 0, hovered: -1,
      texts: new Array(layer.maps).fill(null), lo: NaN, hi: NaN, width: 0, height: 0, adopted: false,
    };
    canvas.addEventListener("click", (e) => {
      const m = this.mapAt(section, e);
      if (m < 0) return;
      section.focus = m;
      this.placeFocusBox(section);
      this.label(section);
      this.onSelect(layer.name, m);
    });
    canvas.addEventListener("pointermove", (e) => {
      const m = this.mapAt(section, e);
      if (m === section.hovered) return;
      section.hovered = m;
      canvas.title = m < 0 ? "" : section.texts[m] || this.placeholder(section, m);
    });
    canvas.addEventListener("keydown", (e) => {
      const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -section.columns, ArrowDown: section.columns }[e.key];
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        this.onSelect(layer.name, section.focus);
      } else if (step !== undefined || e.key === "Home" || e.key === "End") {
        e.preventDefault();
        const target = e.key === "Home" ? 0 : e.key === "End" ? section.maps - 1 : section.focus + step;
        if (target >= 0 && target < section.maps) this.moveFocus(section, target);
      }
    });
    this.root.append(el);
    this.sections.set(layer.name, section);
    this.label(section);
    this.layout(section);
    return section;
  }
}

// A conv layer's filters as one canvas above its maps, filter f above map f: weights as
// signed heatmaps, one scale for the whole layer so filters can be compared. Drawn at `scale`
// canvas pixels per map pixel (a whole number of pixels per weight), so it lines up with the
// maps' grid, gaps included.
class KernelRow {
  constructor(name, kernels, mapWidth) {
    this.kernels = kernels;
    const gcd = (a, b) => (b ? gcd(b, a % b) : a);
    this.scale = kernels.width / gcd(mapWidth, kernels.width);
    this.tileWidth = mapWidth * this.scale;
    this.rowHeight = Math.max(1, Math.round((0.6 * this.tileWidth) / kernels.height)); // pixels per weight row
    this.el = document.createElement("div");
    this.el.className = "kernels";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "kernel-row";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `${name} filters (weights), each above its map: purple negative, orange positive`);
    this.el.append(this.canvas);
    this.texts = kernels.values.map((weights, f) => {
      const strongest = weights.reduce((a, w) => (Math.abs(w) > Math.abs(a) ? w : a), 0);
      return `${name} filter ${f}: weights ${Math.min(...weights).toFixed(3)} … ${Math.max(...weights).toFixed(3)}, strongest ${strongest.toFixed(3)}, bias ${kernels.bias[f].toFixed(3)}`;
    });
    this.columns = 0;
    this.canvas.addEventListener("pointermove", (e) => {
      const rect = this.canvas.getBoundingClientRect();
      const x = ((e.clientX - rect.left) / rect.width) * this.canvas.width;
      const y = ((e.clientY - rect.top) / rect.height) * this.canvas.height;
      const f = Math.floor(y / (this.tileHeight + this.scale)) * this.columns + Math.floor(x / (this.tileWidth + this.scale));
      this.canvas.title = this.texts[f] || "";
    });
  }

  get tileHeight() {
    return this.rowHeight * this.kernels.height;
  }

  layout(columns, cssWidth) {
    const { kernels, scale, tileWidth, tileHeight } = this;
    if (columns === this.columns) return;
    this.columns = columns;
    const count = kernels.values.length, rows = Math.ceil(count / columns);
    const canvas = this.canvas;
    canvas.width = columns * (tileWidth + scale) - scale;
    canvas.height = rows * (tileHeight + scale) - scale;
    canvas.style.width = cssWidth;
    Object.assign(canvas.dataset, { columns, filters: count, tileWidth, tileHeight, gap: scale });
    const image = new ImageData(canvas.width, canvas.height);
    const pixels = new Uint32Array(image.data.buffer);
    let biggest = 0;
    for (const weights of kernels.values) for (const w of weights) biggest = Math.max(biggest, Math.abs(w));
    const perWeight = tileWidth / kernels.width;
    kernels.values.forEach((weights, f) => {
      const left = (f % columns) * (tileWidth + scale), top = Math.floor(f / columns) * (tileHeight + scale);
      for (let y = 0; y < tileHeight; y++) {
        for (let x = 0; x < tileWidth; x++) {
          const w = weights[Math.floor(y / this.rowHeight) * kernels.width + Math.floor(x / perWeight)];
          const [r, g, b] = diverging(w / (biggest || 1));
          pixels[(top + y) * canvas.width + left + x] = (255 << 24) | (b << 16) | (g << 8) | r;
        }
      }
    });
    canvas.getContext("2d").putImageData(image, 0, 0);
  }
}
