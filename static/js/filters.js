// A conv layer's filters drawn on its maps: filter f in the corner of map f, in the maps'
// own grid, so a filter can never sit by another's map whatever the layout. Weights as
// signed heatmaps, one scale for the whole layer so filters can be compared. One canvas over
// the maps' canvas (same box), `scale` canvas pixels per map pixel so every weight is a
// whole number of pixels.
import { diverging } from "./colormap.js";

const FRACTION = 0.4; // of a map's width (and height) a filter may cover
const FRAME = 0xff1b110c; // #0c111b, packed little-endian like colormap's LUT

export class FilterOverlay {
  constructor(name, kernels, mapWidth, mapHeight) {
    this.kernels = kernels;
    this.w = mapWidth;
    this.h = mapHeight;
    const { width: kw, height: kh } = kernels;
    this.scale = Math.max(1, Math.ceil(kw / (FRACTION * mapWidth)), Math.ceil(kh / (FRACTION * mapHeight)));
    this.perWeight = Math.max(1, Math.floor(Math.min((FRACTION * mapWidth * this.scale) / kw, (FRACTION * mapHeight * this.scale) / kh)));
    this.el = document.createElement("div");
    this.el.className = "kernels";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "kernel-row";
    this.canvas.setAttribute("aria-hidden", "true"); // described in words by texts[f] (the maps' tooltips)
    this.el.append(this.canvas);
    this.texts = kernels.values.map((weights, f) => {
      const strongest = weights.reduce((a, w) => (Math.abs(w) > Math.abs(a) ? w : a), 0);
      return `${name} filter ${f}: weights ${Math.min(...weights).toFixed(3)} … ${Math.max(...weights).toFixed(3)}, strongest ${strongest.toFixed(3)}, bias ${kernels.bias[f].toFixed(3)}`;
    });
    this.columns = 0;
  }

  // The filter whose tile is at (x, y), in map pixels of the maps' canvas, or -1.
  filterAt(x, y) {
    const { w, h, columns, scale } = this;
    const col = Math.floor(x / (w + 1)), row = Math.floor(y / (h + 1));
    const f = row * columns + col;
    const inTile = (x - col * (w + 1)) * scale <= this.tileWidth + 2 && (y - row * (h + 1)) * scale <= this.tileHeight + 2;
    return col < columns && f < this.texts.length && inTile ? f : -1;
  }

  get tileWidth() {
    return this.perWeight * this.kernels.width;
  }

  get tileHeight() {
    return this.perWeight * this.kernels.height;
  }

  // The maps' grid: `columns` maps a row (activations.js's layout).
  layout(columns) {
    if (columns === this.columns) return;
    this.columns = columns;
    const { kernels, scale, w, h, perWeight, tileWidth, tileHeight } = this;
    const count = kernels.values.length, rows = Math.ceil(count / columns);
    const canvas = this.canvas;
    canvas.width = (columns * (w + 1) - 1) * scale;
    canvas.height = (rows * (h + 1) - 1) * scale;
    Object.assign(canvas.dataset, { columns, filters: count, scale, tileWidth, tileHeight, inset: 1 });
    const image = new ImageData(canvas.width, canvas.height);
    const pixels = new Uint32Array(image.data.buffer);
    let biggest = 0;
    for (const weights of kernels.values) for (const v of weights) biggest = Math.max(biggest, Math.abs(v));
    kernels.values.forEach((weights, f) => {
      const left = (f % columns) * (w + 1) * scale, top = Math.floor(f / columns) * (h + 1) * scale;
      for (let y = 0; y < tileHeight + 2; y++) pixels.fill(FRAME, (top + y) * canvas.width + left, (top + y) * canvas.width + left + tileWidth + 2);
      for (let y = 0; y < tileHeight; y++) {
        for (let x = 0; x < tileWidth; x++) {
          const v = weights[Math.floor(y / perWeight) * kernels.width + Math.floor(x / perWeight)];
          const [r, g, b] = diverging(v / (biggest || 1));
          pixels[(top + 1 + y) * canvas.width + left + 1 + x] = (255 << 24) | (b << 16) | (g << 8) | r;
        }
      }
    });
    canvas.getContext("2d").putImageData(image, 0, 0);
  }
}
