// The paint worker (started by painter.js): decodes each frame, works out the layers the
// server does not send (frame.js) and paints every layer's canvas, an OffscreenCanvas the
// page handed over, all off the page's main thread. It answers each frame once it is
// painted, with the frame's values (copies, transferred, so nothing is cloned twice): the
// page's prediction strip, inspector and text alternatives read them.
import { decodeFrame, useWeights } from "./frame.js";
import { blankGrid, paintGrid } from "./mapgrid.js";

const grids = new Map(); // layer name → { canvas, ctx, image, pixels, columns, w, h, maps, width, height, scratch }
let latest = new Map(); // layer name → the newest painted frame's layer (empty: cleared)
let scale = "layer"; // one range a layer: a quiet map looks quiet (the page says so too: activations.js)
let held = null; // the answer to a frame painted before the page had made every layer's canvas

const handlers = {
  weights: ({ kernels, batchnorm }) => useWeights(kernels, batchnorm),
  canvas: ({ name, canvas, geometry }) => {
    grids.set(name, { canvas, ctx: canvas.getContext("2d"), scratch: new Uint8Array(256) });
    resize(name, geometry);
    if (held && [...latest.keys()].every((layer) => grids.has(layer))) {
      postMessage(...held);
      held = null;
    }
  },
  layout: ({ name, geometry }) => resize(name, geometry),
  scale: (message) => {
    scale = message.scale;
    paintAll();
  },
  clear: () => {
    latest = new Map();
    paintAll();
  },
  frame: ({ bytes }) => show(bytes),
};

onmessage = ({ data }) => handlers[data.type](data);

function resize(name, geometry) {
  const grid = grids.get(name);
  Object.assign(grid, geometry);
  if (grid.canvas.width !== grid.width) grid.canvas.width = grid.width;
  if (grid.canvas.height !== grid.height) grid.canvas.height = grid.height;
  grid.image = new ImageData(grid.width, grid.height);
  grid.pixels = new Uint32Array(grid.image.data.buffer);
  paint(grid, latest.get(name));
}

function paint(grid, layer) {
  if (layer) paintGrid(grid, layer, scale);
  else blankGrid(grid, grid.maps);
  grid.ctx.putImageData(grid.image, 0, 0);
}

function paintAll() {
  for (const [name, grid] of grids) paint(grid, latest.get(name));
}

// A frame is answered once every layer of it is painted, so that the page shows its
// prediction with its maps. The first frame asks the page for the layers' canvases, and is
// answered when the last comes. An error is answered at once: the page never waits forever.
function show(bytes) {
  try {
    const frame = decodeFrame(bytes);
    const layers = frame.layers; // derived here, once
    latest = new Map(layers.map((layer) => [layer.name, layer]));
    paintAll();
    const missing = layers.filter((layer) => !grids.has(layer.name));
    if (!missing.length) return postMessage(...answer(frame, layers));
    held = answer(frame, layers);
    postMessage({ type: "layers", layers: missing.map(({ name, height, width, maps }) => ({ name, height, width, maps })) });
  } catch (error) {
    postMessage({ type: "shown", error: error.message });
  }
}

// The frame's values as the page reads them, in buffers of their own to transfer: this
// worker keeps its own for painting again (a resize, the scale switch).
function answer(frame, layers) {
  const transfer = [];
  const own = (array) => {
    const copy = array.slice();
    transfer.push(copy.buffer);
    return copy;
  };
  const { seq, digit, unlike, probabilities, logits, image } = frame;
  const values = layers.map(({ name, height, width, maps, min, max, values }) =>
    ({ name, height, width, maps, min: own(min), max: own(max), values: own(values) }));
  // When it was painted (epoch ms): the page's clock differs from this worker's.
  const painted = performance.timeOrigin + performance.now();
  return [{ type: "shown", painted, frame: { seq, digit, unlike, probabilities: own(probabilities), logits: own(logits), image: own(image), layers: values } }, transfer];
}
