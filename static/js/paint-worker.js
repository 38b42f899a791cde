// The paint worker (started by painter.js): decodes each frame, works out the layers the
// server does not send (frame.js) and paints every layer's canvas, an OffscreenCanvas the
// page handed over, and the prediction strip's digit, bars and input image (strip-paint.js),
// all off the page's main thread. It answers each frame once it is painted, with the frame's
// values (copies, transferred, so nothing is cloned twice): the page's prediction strip,
// inspector and text alternatives read them. Where the page draws
// (connection.js), the Socket.IO link lives here too (stream.js): the frames of the page's
// own drawing are painted as they come, however busy the page's main thread is.
import { decodeFrame, isNewer, useWeights } from "./frame.js";
import { blankGrid, paintGrid } from "./mapgrid.js";
import { CpuPressure } from "./pressure.js";
import { Stream } from "./stream.js";
import { paintBars, paintDigit, paintImage } from "./strip-paint.js";

const grids = new Map(); // layer name → { canvas, ctx, image, pixels, columns, w, h, maps, width, height, scratch }
let latest = new Map(); // layer name → the newest painted frame's layer (empty: cleared)
let scale = "layer"; // one range a layer: a quiet map looks quiet (the page says so too: activations.js)
let held = []; // answers to frames painted before the page had made every layer's canvas
const asked = new Set(); // layers whose canvases the page was asked for
let stream = null; // the Socket.IO link, once the page connects
let newest = 0; // the newest own drawing state painted or cleared: older frames are not painted
let guest = false; // the page shows someone else's frames: its own are not painted
// The device's CPU pressure, which paces the drawing states the link sends (bench/paint.py
// and the tests read its state here).
const pace = (globalThis.cnnPace = new CpuPressure());
const strip = { digit: null, image: null, bars: null, shown: null }; // the strip's canvases; shown: the newest painted frame (null: cleared)

const handlers = {
  weights: ({ kernels, batchnorm }) => useWeights(kernels, batchnorm),
  canvas: ({ name, canvas, geometry }) => {
    grids.set(name, { canvas, ctx: canvas.getContext("2d"), scratch: new Uint8Array(256) });
    resize(name, geometry);
    if (held.length && [...latest.keys()].every((layer) => grids.has(layer))) {
      for (const answer of held) postMessage(...answer);
      held = [];
    }
  },
  layout: ({ name, geometry }) => resize(name, geometry),
  scale: (message) => {
    scale = message.scale;
    paintAll();
  },
  clear: () => {
    latest = new Map();
    strip.shown = null;
    paintAll();
  },
  // The prediction strip's canvases (prediction.js), and the digit's size, font and colour
  // and the bars' size, rows and colours whenever they change.
  strip: ({ digit, image, bars }) => {
    strip.digit = { canvas: digit, ctx: digit.getContext("2d"), width: 1, height: 1, font: "", color: "" };
    strip.image = { canvas: image, ctx: image.getContext("2d") };
    strip.bars = { canvas: bars, ctx: bars.getContext("2d"), width: 0, height: 0, rows: [] };
    paintStrip();
  },
  digitStyle: ({ style }) => {
    Object.assign(strip.digit, style);
    paintStrip();
  },
  barStyle: ({ style }) => {
    Object.assign(strip.bars, style);
    paintStrip();
  },
  frame: ({ bytes }) => show(bytes, false),
  // The page's link (connection.js): its events come back as {type: "socket", name, args}.
  connect: () => {
    stream = new Stream({ onFrame: ownFrame, onEvent: (name, args, ack) => postMessage({ type: "socket", name, args, ack }), pace });
  },
  resume: () => stream.resume(),
  draw: ({ message, now }) => stream.draw(message, now),
  skip: ({ seq }) => {
    newest = seq;
    stream.skip();
  },
  emit: ({ event, payload }) => stream.emit(event, payload),
  ack: ({ ack }) => stream.acknowledge(ack),
  guest: ({ on }) => (guest = on),
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
  paintStrip();
}

function paintStrip() {
  const shown = strip.shown;
  if (strip.digit?.font) paintDigit(strip.digit, shown ? shown.digit : null);
  if (strip.image) paintImage(strip.image, shown ? shown.image : null);
  if (strip.bars?.rows.length) paintBars(strip.bars, shown ? shown.probabilities : null, shown ? shown.digit : null);
}

// A frame of the page's own drawing, straight from the link: painted unless the page shows
// someone else's or has moved on (cleared).
function ownFrame(bytes, seq) {
  if (guest || !isNewer(seq, newest)) return;
  newest = seq;
  show(bytes, true);
}

// A frame is answered once every layer of it is painted, so that the page shows its
// prediction with its maps (`own`: a frame of the page's drawing, not one it handed over).
// The first frame asks the page for the layers' canvases, and is answered when the last
// comes. An error is answered at once: the page never waits forever.
function show(bytes, own) {
  try {
    const frame = decodeFrame(bytes);
    const layers = frame.layers; // derived here, once
    latest = new Map(layers.map((layer) => [layer.name, layer]));
    strip.shown = frame.digit === null ? null : frame;
    paintAll();
    const missing = layers.filter((layer) => !grids.has(layer.name));
    if (!missing.length) return postMessage(...answer(frame, layers, own));
    held = [...held.filter(([message]) => message.own !== own), answer(frame, layers, own)]; // the newest of each kind
    const ask = missing.filter((layer) => !asked.has(layer.name));
    for (const layer of ask) asked.add(layer.name);
    if (ask.length) postMessage({ type: "layers", layers: ask.map(({ name, height, width, maps }) => ({ name, height, width, maps })) });
  } catch (error) {
    postMessage({ type: "shown", own, error: error.message });
  }
}

// The frame's values as the page reads them, in buffers of their own to transfer: this
// worker keeps its own for painting again (a resize, the scale switch).
function answer(frame, layers, own) {
  const transfer = [];
  const detach = (array) => {
    const copy = array.slice();
    transfer.push(copy.buffer);
    return copy;
  };
  const { seq, digit, unlike, probabilities, logits, image } = frame;
  const values = layers.map(({ name, height, width, maps, min, max, values }) =>
    ({ name, height, width, maps, min: detach(min), max: detach(max), values: detach(values) }));
  // When it was painted (epoch ms): the page's clock differs from this worker's.
  const painted = performance.timeOrigin + performance.now();
  return [{ type: "shown", own, painted, frame: { seq, digit, unlike, probabilities: detach(probabilities), logits: detach(logits), image: detach(image), layers: values } }, transfer];
}
