// The drawing page's wiring, shared by the main page, a student's page and the teacher's
// stage: drawing → server → prediction and maps, with the busy/ready contract that tests
// and people rely on (#prediction[data-digit][data-busy]). A page may also show a frame
// that is not of its own drawing: the teacher's (follow me) or a spotlighted submission.
import { DrawingPad } from "./canvas.js";
import { Legend } from "./legend.js";
import { showConnection } from "./offline.js";
import { togglePresenting } from "./presenter.js";
import { isNewer, useWeights } from "./frame.js";
import { Connections } from "./connections.js";
import { Inspector } from "./inspector.js";
import { Links } from "./links.js";
import { LayerView } from "./activations.js";
import { Painter } from "./painter.js";
import { PredictionView } from "./prediction.js";
import { NoveltyNotice } from "./novelty.js";
import { pictureBytes } from "./picture.js";
import { SaliencyView } from "./saliency.js";
import { Throttle } from "./throttle.js";
import { denseInputs, denseUnits, fetchJSON, loadNetwork, ModelConnection } from "./network.js";

const $ = (selector) => document.querySelector(selector);
// The model this page shows (its name on the server; the address's ?model=).
const modelName = () => $("#network-data").dataset.model || "";

const DESCRIBE_EVERY_MS = 250; // a follower's text alternatives, as the strip's percentages (prediction.js)

// Paint timings for bench/paint.py, in a fixed ring (no growth, nothing allocated per frame):
// when each drawing state's input event happened, and, per painted frame, [seq, made, painted].
const RING = 1024;
const timings = { made: new Float64Array(RING), paints: new Float64Array(3 * RING), count: 0 };
globalThis.cnnPaintTimings = timings;

// The network's data, from JSON files the browser keeps (views.py): the layer table and
// the conv filters before the page starts; the top patches only when the inspector first
// shows a conv layer's map.
async function pageData() {
  const data = await loadNetwork($("#network-data").href);
  let patches = null;
  // Top patches come as grey levels 0-255; the inspector takes them in 0..1.
  const topPatches = () =>
    (patches ||= fetchJSON($("#inspector").dataset.topPatches).then(
      (top) => {
        for (const conv of Object.values(top)) conv.patches = conv.patches.map((row) => row.map((p) => p.map((v) => v / 255)));
        return top;
      },
      (error) => {
        patches = null; // asked again next time
        throw error;
      },
    ));
  // The whole digits of one channel's top patches, asked for when its map is opened.
  const topDigits = (layer, channel) => fetchJSON($("#inspector").dataset.topPatches.replace(/\.json$/, `/${layer}/${channel}.json`));
  return { ...data, topPatches, topDigits, denseUnit: denseUnits($("#network-data").href) };
}

// `onConnect(socket)`: on every (re)connection. `sendEmpty()`: whether a cleared pad must
// still be sent to the server (a teacher drawing for the class, whose screens must clear too).
// `keyScope`: where the keyboard shortcuts apply (the teacher's stage, or the whole page).
// `onChange(pad)`: after every change to the drawing. `onShow(frame)`: a result is shown
// (null: nothing drawn). Resolves once the network's data is loaded and the page is wired
// (it connects right after).
export async function startDrawingApp({
  onConnect = () => {}, sendEmpty = () => false, keyScope = document.body, onChange = () => {}, onShow = () => {},
} = {}) {
  const painter = new Painter(); // its worker connects while the data loads
  let data;
  try {
    data = await pageData();
  } catch (error) {
    $("#message").textContent = `Could not load the network's data (${error.message}): reload the page.`;
    $("#status").textContent = $("#status").dataset.state = "cannot reach the server";
    throw error;
  }
  const { network, notes, kernels, batchnorm, fields, units, inputShape, topPatches, topDigits, denseUnit } = data;
  useWeights(kernels, batchnorm); // for decodeFrame on this thread (tests); each LayerView's paint worker gets its own
  const message = $("#message");
  const prediction = new PredictionView($("#prediction"), $("#bars"), $("#input-view"), painter);
  const notice = new NoveltyNotice($("#novelty"));
  const links = new Links(network);
  const inspector = new Inspector($("#inspector"), { fields, units, inputShape, topPatches, topDigits, links, denseUnit });
  const classes = Array.from({ length: network.classes }, (_, d) => String(d));
  const layers = new LayerView($("#layers"), (name, map) => inspector.open(name, map, shownFrame), notes, kernels, batchnorm,
    { legend: new Legend($("#legend-box")), classes, painter });
  const connections = new Connections($("#layers"), network, { inputCanvas: $("#input-view"), denseUnit, denseInput: denseInputs($("#network-data").href) });
  const saliency = new SaliencyView($("#saliency-view"), $("#saliency"), modelName());
  let current = 0; // the drawing state on screen
  let shown = 0; // the state the displayed result belongs to
  let shownFrame = null;
  let incoming = null; // the newest frame not yet painted
  let guest = false; // showing someone else's frame: results for own drawing wait

  function render(frame) {
    shownFrame = frame && frame.digit !== null ? frame : null;
    if (shownFrame) {
      // Until this page's own drawing's final result comes (the pen down, or just lifted with
      // frames of the stroke still on their way), its numbers wait: the final one is written
      // a moment later anyway, and each write costs the page a layout (bench/RESULTS.md 6k).
      const final = !guest && finished(frame.seq);
      const pending = !guest && !final;
      prediction.show(frame, { final, pending });
      layers.render(frame, { pending, final });
    } else {
      prediction.empty();
      layers.clear();
      notice.hide();
    }
    inspector.refresh(shownFrame);
    connections.refresh(shownFrame);
    onShow(shownFrame);
  }

  function paint() {
    const frame = incoming;
    incoming = null;
    if (guest || !isNewer(frame.seq, shown)) return;
    shown = frame.seq;
    render(frame);
    const i = 3 * (timings.count++ % RING);
    timings.paints[i] = shown;
    timings.paints[i + 1] = timings.made[shown % RING];
    timings.paints[i + 2] = performance.now();
    if (finished(shown)) {
      if (message.textContent) message.textContent = ""; // written only to change it: a write costs a layout
      afterNextFrame(shown);
    } else {
      prediction.setBusy(true); // busy all the while the pen draws: no change a frame
    }
    notice.update(shownFrame, finished(shown));
  }

  // The finished drawing's layers' numbers and text alternatives, a display frame after its
  // strip's numbers: written in one frame, they made it long at a phone's speed
  // (bench/RESULTS.md 6j). The digit stops looking busy with them: the result is whole then.
  function afterNextFrame(seq) {
    requestAnimationFrame(() => {
      if (guest || seq !== shown || !finished(seq)) return; // a newer frame, or a clear, has the page
      layers.describe();
      prediction.setBusy(false);
    });
  }

  // The link runs in the layers' paint worker, which paints this page's frames as they come.
  const connection = new ModelConnection(painter, {
    onConnect,
    onStatus: (status) => {
      $("#status").textContent = status;
      $("#status").dataset.state = status;
      showConnection($("#canvas"), status);
    },
    // The paint worker has decoded, derived and painted the frame: its values.
    onFrame: (frame) => {
      if (!guest && isNewer(frame.seq, shown)) arrived(frame);
    },
    onError: ({ error, seq }) => {
      message.textContent = error;
      if (seq === current) {
        shown = current;
        prediction.setBusy(false);
      }
    },
  }, modelName());

  // The result of the drawing as it is now, the pen lifted: not one that caught up with the
  // pen mid-stroke (the next move replaces it).
  function finished(seq) {
    return seq === current && pad.pointerId === null;
  }

  function arrived(frame) {
    // The rest of the page at most once per display frame: only the newest frame shows.
    if (!incoming) requestAnimationFrame(paint);
    incoming = frame;
  }

  function showGuestFrame(frame) {
    render(frame);
    prediction.setBusy(false);
    notice.update(shownFrame, true);
    if (message.textContent) message.textContent = "";
    guestText.call();
  }

  // Someone else's drawing (follow me) has no pen-up here: its text alternatives at most
  // every 250 ms while its frames come, the newest last.
  const guestText = new Throttle(DESCRIBE_EVERY_MS, () => guest && layers.describe());

  function changed(kind) {
    onChange(pad);
    if (pad.isEmpty) saliency.request(null);
    if (pad.isEmpty && !sendEmpty()) {
      current = shown = connection.skip();
      render(null);
      prediction.setBusy(false);
      message.textContent = "";
      return;
    }
    current = connection.draw(pad.strokes, pad.canvas.width, pad.canvas.height, kind !== "draw");
    timings.made[current % RING] = globalThis.event?.timeStamp ?? performance.now(); // the pen event that made this state
    prediction.setBusy(true);
    if (kind !== "draw" && !pad.isEmpty) saliency.request({ strokes: pad.strokes }); // pen-up: worth a gradient
  }
  const pad = new DrawingPad($("#canvas"), changed);

  async function usePicture(file) {
    if (!file || pad.locked) return;
    if (!/^image\/(png|jpeg)$/.test(file.type)) {
      message.textContent = "Pick a PNG or JPEG picture of a digit.";
      return;
    }
    try {
      const { bitmap, bytes } = await pictureBytes(file);
      pad.showPicture(bitmap);
      current = connection.image(bytes);
      prediction.setBusy(true);
      saliency.request({ picture: bytes });
    } catch (e) {
      message.textContent = `Could not read that picture: ${e.message}`;
    }
  }

  function toggleExplanations() {
    const visible = document.body.classList.toggle("hide-explanations") === false;
    $("#explain").setAttribute("aria-pressed", visible);
  }

  function toggleFilters() {
    $("#filters").setAttribute("aria-pressed", document.body.classList.toggle("show-filters"));
  }

  // A layer chosen in the architecture table: its maps in view, its explanation shown.
  function showLayer(e) {
    const link = e.target.closest("a[data-shown-at]");
    if (!link) return;
    e.preventDefault();
    layers.select(link.dataset.shownAt);
    if (document.body.classList.contains("hide-explanations")) toggleExplanations();
    $(`#layer-${link.dataset.shownAt}`)?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function setScale(scale) {
    layers.setScale(scale);
    for (const b of document.querySelectorAll("[data-scale]")) b.setAttribute("aria-pressed", b.dataset.scale === scale);
  }

  $("#clear").addEventListener("click", () => pad.clear());
  $("#explain").addEventListener("click", toggleExplanations);
  $("#filters").addEventListener("click", toggleFilters);
  $("#present").addEventListener("click", togglePresenting);
  $("#architecture").addEventListener("click", showLayer);
  $("#undo").addEventListener("click", () => pad.undo());
  $("#file").addEventListener("change", (e) => usePicture(e.target.files[0]));
  for (const b of document.querySelectorAll("[data-scale]")) b.addEventListener("click", () => setScale(b.dataset.scale));
  layers.clear();

  const drop = $(".draw-panel");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("dropping");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dropping"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dropping");
    usePicture(e.dataTransfer.files[0]);
  });

  document.addEventListener("keydown", (e) => {
    // Not while typing, nor in another dialog (the inspector has keys of its own).
    if (e.target.closest("input, textarea, dialog, body") !== keyScope) return;
    const key = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && key === "z") {
      e.preventDefault();
      pad.undo();
    } else if (e.ctrlKey || e.metaKey || e.altKey) {
      return;
    } else if (key === "c" || key === "delete" || key === "backspace") {
      pad.clear();
    } else if (key === "u") {
      pad.undo();
    } else if (key === "s") {
      setScale(layers.scale === "map" ? "layer" : "map");
    } else if (key === "e") {
      toggleExplanations();
    } else if (key === "w") {
      toggleFilters();
    } else if (key === "p") {
      togglePresenting();
    } else if (key === "l") {
      saliency.toggle();
    }
  });

  return {
    connection,
    pad,
    // Someone else's frame (bytes, taken; null: nothing drawn), and their drawing to show on
    // the pad: own drawing waits.
    showGuest(bytes, drawing = null) {
      guest = true;
      connection.hold(true);
      pad.lock(drawing);
      saliency.request(null);
      if (bytes) layers.show(bytes, (frame) => guest && showGuestFrame(frame));
      else showGuestFrame(null);
    },
    // Back to own drawing, asking afresh for its result.
    release() {
      if (!guest) return;
      guest = false;
      connection.hold(false);
      pad.unlock();
      changed("end");
    },
  };
}
