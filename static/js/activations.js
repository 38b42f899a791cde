// Every layer's activation maps as grids of heatmaps; dense layers as strips.
import { LUT, diverging } from "./colormap.js";

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

export function layerLabel(layer) {
  return layer.height === 1
    ? `${layer.name} · ${layer.width} units`
    : `${layer.name} · ${layer.maps} maps · ${layer.height}×${layer.width}`;
}

const IDENTITY = Uint8Array.from({ length: 256 }, (_, q) => q);
const ZERO = new Uint8Array(256);

// Byte q of map m → colormap index, for the chosen scale: the map's own range or the layer's.
function indexTables(layer, scale) {
  const lo = Math.min(...layer.min), hi = Math.max(...layer.max);
  const tables = [];
  for (let m = 0; m < layer.maps; m++) {
    const span = layer.max[m] - layer.min[m];
    if (scale === "map" || hi === lo) {
      tables.push(span > 0 ? IDENTITY : ZERO); // bytes already span the map's range
      continue;
    }
    const table = new Uint8Array(256);
    for (let q = 0; q < 256; q++) table[q] = Math.round(((layer.min[m] + (q / 255) * span - lo) / (hi - lo)) * 255);
    tables.push(table);
  }
  return { tables, lo, hi };
}

export function paintMap(canvas, layer, m, table, image) {
  const size = layer.width * layer.height;
  const pixels = new Uint32Array(image.data.buffer);
  const values = layer.values.subarray(m * size, (m + 1) * size);
  for (let i = 0; i < size; i++) pixels[i] = LUT[table[values[i]]];
  canvas.getContext("2d").putImageData(image, 0, 0);
}

export class LayerView {
  // `notes`: layer name → explanations to show with its maps (see model/architecture.py).
  // `kernels`: conv layer name → its filters as small signed images (webapp/views.py).
  constructor(root, onSelect, notes = {}, kernels = {}) {
    this.root = root;
    this.onSelect = onSelect;
    this.notes = notes;
    this.kernels = kernels;
    this.sections = new Map();
    this.scale = "map";
    this.frame = null;
  }

  setScale(scale) {
    this.scale = scale;
    if (this.frame) this.render(this.frame);
  }

  render(frame) {
    this.frame = frame;
    this.root.classList.remove("is-empty");
    for (const layer of frame.layers) {
      const section = this.sections.get(layer.name) || this.build(layer);
      const { tables, lo, hi } = indexTables(layer, this.scale);
      section.range.textContent = `values ${fmt(lo)} … ${fmt(hi)}`;
      section.canvases.forEach((canvas, m) => paintMap(canvas, layer, m, tables[m], section.images[m]));
    }
  }

  // Text alternatives: where each map responds most, with its true value.
  describe() {
    const frame = this.frame;
    if (!frame) return;
    for (const layer of frame.layers) {
      const size = layer.width * layer.height;
      this.sections.get(layer.name).canvases.forEach((canvas, m) => {
        const values = layer.values.subarray(m * size, (m + 1) * size);
        let best = 0;
        for (let i = 1; i < size; i++) if (values[i] > values[best]) best = i;
        const row = Math.floor(best / layer.width), col = best % layer.width;
        const value = fmt(layer.max[m]);
        const where = layer.height === 1 ? `unit ${col}` : `row ${row}, column ${col}`;
        const text = layer.max[m] === layer.min[m]
          ? `${layer.name}${layer.height === 1 ? "" : ` map ${m}`}: all ${value}`
          : `${layer.name}${layer.height === 1 ? "" : ` map ${m}`}: strongest at ${where}, ${value}`;
        canvas.setAttribute("aria-label", text);
        canvas.title = text;
      });
    }
  }

  clear() {
    this.frame = null;
    this.root.classList.add("is-empty");
    for (const section of this.sections.values()) {
      section.range.textContent = "";
      for (const canvas of section.canvases) canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    }
  }

  build(layer) {
    const el = document.createElement("section");
    const dense = layer.height === 1;
    el.className = dense ? "layer layer-dense" : "layer";
    el.id = `layer-${layer.name}`;
    el.dataset.layer = layer.name;
    el.innerHTML = `<h3><span class="layer-name"></span> <span class="layer-range"></span></h3><div class="maps"></div>`;
    el.querySelector(".layer-name").textContent = layerLabel(layer);
    const grid = el.querySelector(".maps");
    for (const text of this.notes[layer.name] || []) {
      const note = document.createElement("p");
      note.className = "explain";
      note.textContent = text;
      grid.before(note);
    }
    if (this.kernels[layer.name]) grid.before(kernelRow(layer.name, this.kernels[layer.name]));
    const canvases = [], images = [];
    for (let m = 0; m < layer.maps; m++) {
      const canvas = document.createElement("canvas");
      canvas.width = layer.width;
      canvas.height = layer.height;
      canvas.className = "map";
      canvas.tabIndex = 0;
      canvas.dataset.map = m;
      canvas.setAttribute("role", "button");
      canvas.setAttribute("aria-label", dense ? `${layer.name}: open to read unit values` : `${layer.name} map ${m}: open enlarged`);
      canvas.addEventListener("click", () => this.onSelect(layer.name, m));
      canvas.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          this.onSelect(layer.name, m);
        }
      });
      grid.append(canvas);
      canvases.push(canvas);
      images.push(new ImageData(layer.width, layer.height));
    }
    this.root.append(el);
    const section = { el, canvases, images, range: el.querySelector(".layer-range") };
    this.sections.set(layer.name, section);
    return section;
  }
}

// A conv layer's filters, aligned with its maps: weights as signed heatmaps, one scale
// for the whole layer so filters can be compared.
function kernelRow(name, kernels) {
  const row = document.createElement("div");
  row.className = "kernels";
  row.setAttribute("aria-label", `${name} filters (weights): purple negative, orange positive`);
  const scale = Math.max(...kernels.values.flat().map(Math.abs)) || 1;
  kernels.values.forEach((weights, f) => {
    const canvas = document.createElement("canvas");
    canvas.width = kernels.width;
    canvas.height = kernels.height;
    canvas.className = "kernel";
    const strongest = weights.reduce((a, w) => (Math.abs(w) > Math.abs(a) ? w : a), 0);
    canvas.title = `${name} filter ${f}: weights ${Math.min(...weights).toFixed(3)} … ${Math.max(...weights).toFixed(3)}, bias ${kernels.bias[f].toFixed(3)}`;
    canvas.setAttribute("aria-label", `${name} filter ${f}: strongest weight ${strongest.toFixed(3)}, bias ${kernels.bias[f].toFixed(3)}`);
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(kernels.width, kernels.height);
    weights.forEach((w, i) => image.data.set([...diverging(w / scale), 255], 4 * i));
    ctx.putImageData(image, 0, 0);
    row.append(canvas);
  });
  return row;
}
