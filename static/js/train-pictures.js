// What the training job shows of the network as it learns: the first conv layer's filters
// (signed weights, purple–white–orange), the probe digit's maps there (viridis) and its ten
// probabilities. Each picture is drawn whole again when a new one arrives (about once a second).
import { LUT, diverging } from "./colormap.js";

// Filters: `{ shape: [n, rows, cols], values }`, one shared scale so their strengths compare.
export function drawFilters(canvas, { shape: [n, rows, cols], values }) {
  // About twelve filters a row, each as big as that allows: a 2x2 filter gets big cells.
  const gap = 4, cell = Math.max(4, Math.floor((canvas.width / Math.min(n, 12) - gap) / cols));
  const tile = cell * cols + gap;
  const perRow = Math.max(1, Math.floor(canvas.width / tile));
  canvas.height = Math.ceil(n / perRow) * (cell * rows + gap);
  const ctx = canvas.getContext("2d");
  const scale = Math.max(1e-9, ...values.map(Math.abs));
  for (let f = 0; f < n; f++) {
    const x0 = (f % perRow) * tile, y0 = Math.floor(f / perRow) * (cell * rows + gap);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const [red, green, blue] = diverging(values[(f * rows + r) * cols + c] / scale);
        ctx.fillStyle = `rgb(${red}, ${green}, ${blue})`;
        ctx.fillRect(x0 + c * cell, y0 + r * cell, cell, cell);
      }
    }
  }
}

// Maps: `{ shape: [n, rows, cols], bytes }` (0-255 over one range), in rows of tiles.
export function drawMaps(canvas, { shape: [n, rows, cols], bytes }) {
  const grey = new Uint8Array(bytes);
  const gap = 2, perRow = Math.max(1, Math.floor((canvas.width + gap) / (cols + gap)));
  canvas.height = Math.ceil(n / perRow) * (rows + gap);
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(cols, rows);
  const pixels = new Uint32Array(image.data.buffer);
  for (let m = 0; m < n; m++) {
    for (let i = 0; i < rows * cols; i++) pixels[i] = LUT[grey[m * rows * cols + i]];
    ctx.putImageData(image, (m % perRow) * (cols + gap), Math.floor(m / perRow) * (rows + gap));
  }
}

// Probabilities as ten bars in an <ol>, and the digit read.
export function drawProbabilities(list, digit, probabilities) {
  if (list.children.length !== probabilities.length) {
    list.replaceChildren(...probabilities.map((_, d) => {
      const item = document.createElement("li");
      item.innerHTML = `<span class="digit">${d}</span><meter min="0" max="1"></meter>`;
      return item;
    }));
  }
  const best = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, d) => {
    const meter = list.children[d].querySelector("meter");
    meter.value = p;
    meter.title = `${d}: ${(100 * p).toFixed(1)}%`;
    list.children[d].classList.toggle("best", d === best);
  });
  digit.textContent = best;
}
