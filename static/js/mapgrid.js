// A layer's maps as one grid of pixels: map m at column m % columns, row m / columns, each
// w × h with a 1-pixel gap (a dense layer: one map of w × h units, row by row, cells past its
// last unit left transparent). No DOM here: the paint worker (paint-worker.js) runs it on an
// OffscreenCanvas.
import { LUT } from "./colormap.js";

const IDENTITY = Uint8Array.from({ length: 256 }, (_, q) => q);
const ZERO = new Uint8Array(256);
export const BLANK = 0xff1b110c; // #0c111b, packed like LUT

// Where map m's top-left pixel is in a grid `width` pixels wide.
export const mapOrigin = ({ columns, w, h, width }, m) => Math.floor(m / columns) * (h + 1) * width + (m % columns) * (w + 1);

// `grid`: { pixels: Uint32Array of width × height, columns, w, h, width, scratch: Uint8Array(256) }.
// `scale`: "map" (each map over its own min..max, as the bytes come) or "layer" (one range
// for the whole layer). Writes every map's colours; allocates nothing.
export function paintGrid(grid, layer, scale) {
  const { pixels, width, scratch } = grid;
  const { w, h } = grid, size = w * h, values = layer.values, units = values.length;
  let lo = Infinity, hi = -Infinity;
  for (let m = 0; m < layer.maps; m++) {
    if (layer.min[m] < lo) lo = layer.min[m];
    if (layer.max[m] > hi) hi = layer.max[m];
  }
  for (let m = 0; m < layer.maps; m++) {
    const span = layer.max[m] - layer.min[m];
    let table = span > 0 ? IDENTITY : ZERO; // bytes already span the map's own range
    if (scale === "layer" && hi > lo) {
      table = scratch;
      for (let q = 0; q < 256; q++) table[q] = Math.round(((layer.min[m] + (q / 255) * span - lo) / (hi - lo)) * 255);
    }
    let at = mapOrigin(grid, m), i = m * size;
    for (let y = 0; y < h; y++, at += width) {
      for (let x = 0; x < w; x++, i++) pixels[at + x] = i < units ? LUT[table[values[i]]] : 0;
    }
  }
}

// Every map as an empty (dark) square, the gaps transparent.
export function blankGrid(grid, maps) {
  const { pixels, w, h, width } = grid;
  pixels.fill(0);
  for (let m = 0; m < maps; m++) {
    let at = mapOrigin(grid, m);
    for (let y = 0; y < h; y++, at += width) pixels.fill(BLANK, at, at + w);
  }
}
