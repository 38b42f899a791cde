// The page's side of the paint worker (paint-worker.js), which decodes frames, derives their
// layers and paints the layers' canvases off the main thread, and runs the page's Socket.IO
// link (connection.js): here a frame not of the page's own drawing is only handed over (its
// buffer transferred, not copied). One frame at a time is in the worker; one that
// comes while it is busy waits, and a newer one replaces it, so the worker never works
// through a backlog and always paints the newest frame it can.

// When the worker painted each frame, for bench/paint.py: [seq, painted] (ms on this page's
// clock), in a fixed ring. The maps are on screen then, whatever this thread is doing.
const RING = 1024;
const paints = { times: new Float64Array(2 * RING), count: 0 };
globalThis.cnnWorkerPaints = paints;

function record(frame, painted) {
  const i = 2 * (paints.count++ % RING);
  paints.times[i] = frame.seq;
  paints.times[i + 1] = painted - performance.timeOrigin;
}

export class Painter {
  // Starts the worker and, at once, its Socket.IO link (connection.js): the connection opens
  // while the page still loads its network's data and builds its views. Its events wait here
  // until the page takes them (`connect`). The network comes later (`useNetwork`).
  constructor() {
    this.worker = new Worker(new URL("./paint-worker.js", import.meta.url), { type: "module" });
    this.worker.postMessage({ type: "connect" });
    this.onLayers = () => {};
    this.worker.addEventListener("message", ({ data }) => {
      if (data.type === "layers") this.onLayers(data.layers);
      else if (data.type === "socket") this.event(data);
      else if (data.own) this.ownShown(data);
      else this.done(data);
    });
    this.worker.addEventListener("error", (e) => reportError(new Error(`paint worker: ${e.message}`)));
    this.inWorker = null; // { onShown, generation } of the frame being painted
    this.waiting = null; // { bytes, onShown, generation }: the newest frame not yet handed over
    this.generation = 0; // a clear makes every earlier frame's answer moot
    this.replaced = 0; // frames that never reached the worker (for tests and benchmarks)
    this.link = null; // { onEvent, onFrame } once the page takes its link's events
    this.early = []; // the link's events until then
  }

  // `kernels`: the conv filters, exact (app.js), which the worker derives conv layers with;
  // `batchnorm`: the batchnorm layers' scales and shifts, exact (network.js), likewise.
  // `onLayers(layers)`: the worker has a frame with layers ({name, height, width, maps}) it
  // has no canvas for: make them and `adopt` them (it answers the frame once they come).
  useNetwork(kernels, batchnorm = {}, onLayers = () => {}) {
    this.worker.postMessage({ type: "weights", kernels, batchnorm });
    this.onLayers = onLayers;
  }

  // Take the page's Socket.IO link's events. `onEvent(name, args, ack)`: every event but the
  // frames of the page's own drawing (`ack`, for an event the server wants acknowledged: a
  // number to post back as {type: "ack", ack} once it is handled). Those frames the worker
  // paints as they come; `onFrame(frame)` then gives their values, as `show`'s `onShown` does.
  connect(onEvent, onFrame) {
    this.link = { onEvent, onFrame };
    for (const data of this.early.splice(0)) this.event(data);
  }

  event({ name, args, ack }) {
    if (this.link) this.link.onEvent(name, args, ack);
    else this.early.push({ name, args, ack });
  }

  // A message for the link in the worker (paint-worker.js's handlers).
  post(message) {
    this.worker.postMessage(message);
  }

  // Paint the frame in `bytes` (an ArrayBuffer, taken: it is transferred); `onShown(frame)`
  // once it is painted, with its values ({seq, digit, probabilities, image, layers}), unless a
  // newer frame replaced it before the worker took it or the view was cleared meanwhile.
  show(bytes, onShown) {
    const job = { bytes, onShown, generation: this.generation };
    if (!this.inWorker) return this.handOver(job);
    if (this.waiting) this.replaced++;
    this.waiting = job;
  }

  handOver({ bytes, onShown, generation }) {
    this.inWorker = { onShown, generation };
    this.worker.postMessage({ type: "frame", bytes }, [bytes]);
  }

  done({ frame, error, painted }) {
    const { onShown, generation } = this.inWorker;
    this.inWorker = null;
    if (this.waiting) {
      this.handOver(this.waiting); // first: the worker starts on it while this thread goes on
      this.waiting = null;
    }
    if (error) return reportError(new Error(`a frame could not be shown: ${error}`));
    record(frame, painted);
    if (generation === this.generation) onShown(frame);
  }

  ownShown({ frame, error, painted }) {
    if (error) return reportError(new Error(`a frame could not be shown: ${error}`));
    record(frame, painted);
    this.link.onFrame(frame);
  }

  // Every map blank; frames handed over before now are not reported.
  clear() {
    this.generation++;
    this.waiting = null;
    this.worker.postMessage({ type: "clear" });
  }

  // A layer's canvas, handed to the worker for good (it then owns its size and pixels).
  // `geometry`: { columns, w, h, maps, width, height } (see mapgrid.js).
  adopt(name, canvas, geometry) {
    const offscreen = canvas.transferControlToOffscreen();
    this.worker.postMessage({ type: "canvas", name, canvas: offscreen, geometry }, [offscreen]);
  }

  // The prediction strip's digit, input image and bars canvases, handed to the worker for
  // good: it paints them with every frame (prediction.js). `style`: the digit's { width,
  // height } in device pixels, font and colour; the bars' size, rows and colours
  // (prediction.js's barStyle); each again whenever it changes.
  adoptStrip(digit, image, bars) {
    const canvases = [digit, image, bars].map((canvas) => canvas.transferControlToOffscreen());
    this.worker.postMessage({ type: "strip", digit: canvases[0], image: canvases[1], bars: canvases[2] }, canvases);
  }

  styleDigit(style) {
    this.worker.postMessage({ type: "digitStyle", style });
  }

  styleBars(style) {
    this.worker.postMessage({ type: "barStyle", style });
  }

  layout(name, geometry) {
    this.worker.postMessage({ type: "layout", name, geometry });
  }

  setScale(scale) {
    this.worker.postMessage({ type: "scale", scale });
  }
}
