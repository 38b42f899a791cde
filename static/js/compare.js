// Two models side by side, live, on one drawing: the same strokes go to both (each side
// its own link to the server, saying its model), each side shows its own prediction and
// maps. A learner sees what another architecture or other training data changes.
import { DrawingPad } from "./canvas.js";
import { Legend } from "./legend.js";
import { showConnection } from "./offline.js";
import { LayerView } from "./activations.js";
import { Painter } from "./painter.js";
import { Connections } from "./connections.js";
import { PredictionView } from "./prediction.js";
import { isNewer } from "./frame.js";
import { denseInputs, denseUnits, loadNetwork, ModelConnection } from "./network.js";

const $ = (selector) => document.querySelector(selector);

class Side {
  constructor(root, data, painter, onStatus, onError, legend) {
    this.data = data;
    this.prediction = new PredictionView(root.querySelector(".prediction"), root.querySelector(".bars"), root.querySelector(".input-view"), painter);
    const classes = Array.from({ length: data.network.classes }, (_, d) => String(d));
    this.layers = new LayerView(root.querySelector(".side-layers"), () => {}, data.notes, data.kernels, data.batchnorm, { legend, classes, painter });
    this.layers.clear();
    // How its layers feed each other, on pointing (connections.js): this side's network.
    this.connections = new Connections(root.querySelector(".side-layers"), data.network, {
      inputCanvas: root.querySelector(".input-view"), denseUnit: denseUnits(data.url), denseInput: denseInputs(data.url),
    });
    this.current = this.shown = 0;
    this.penDown = false;
    this.incoming = null;
    // This side's link runs in its paint worker (`painter`, started before the data loaded),
    // which paints with this side's filters.
    this.connection = new ModelConnection(painter, {
      onStatus,
      onError: (e) => {
        onError(e);
        if (e.seq === this.current) this.settle(this.current);
      },
      onFrame: (frame) => {
        if (isNewer(frame.seq, this.shown)) this.arrived(frame);
      },
    }, root.dataset.model);
  }

  arrived(frame) {
    if (!this.incoming) requestAnimationFrame(() => this.paint());
    this.incoming = frame;
  }

  draw(pad, kind) {
    this.penDown = kind === "draw";
    if (pad.isEmpty) {
      this.current = this.shown = this.connection.skip();
      this.prediction.empty();
      this.layers.clear();
      this.connections.refresh(null);
      this.settle(this.current);
      return;
    }
    this.current = this.connection.draw(pad.strokes, pad.canvas.width, pad.canvas.height, kind !== "draw");
    this.prediction.setBusy(true);
  }

  paint() {
    const frame = this.incoming;
    this.incoming = null;
    if (!isNewer(frame.seq, this.shown)) return;
    this.connections.refresh(frame.digit === null ? null : frame);
    if (frame.digit === null) {
      this.prediction.empty();
      this.layers.clear();
    } else {
      const final = this.finished(frame.seq);
      this.prediction.show(frame, { final, pending: !final }); // as the drawing page (app.js)
      this.layers.render(frame, { pending: !final, final });
    }
    if (frame.digit === null || !this.finished(frame.seq)) return this.settle(frame.seq);
    this.shown = frame.seq;
    this.afterNextFrame(frame.seq); // busy until then
  }

  // The finished drawing's layers' numbers and text alternatives a display frame after its
  // strip's, as the drawing page does (app.js); then it is no longer busy.
  afterNextFrame(seq) {
    requestAnimationFrame(() => {
      if (seq !== this.shown || !this.finished(seq)) return; // a newer frame, or a clear, has the side
      this.layers.describe();
      this.prediction.setBusy(false);
    });
  }

  // The result of the drawing as it is now, the pen lifted (not one that caught up with the
  // pen mid-stroke).
  finished(seq) {
    return seq === this.current && !this.penDown;
  }

  settle(seq) {
    this.shown = seq;
    this.prediction.setBusy(!this.finished(this.shown)); // busy all the while the pen draws: no change a frame
  }
}

async function start() {
  const roots = [$("#side-a"), $("#side-b")];
  const painters = roots.map(() => new Painter()); // their workers connect while the data loads
  let data;
  try {
    data = await Promise.all(["a", "b"].map(async (key) => {
      const url = $(`#network-data-${key}`).href;
      return { ...(await loadNetwork(url)), url };
    }));
  } catch (error) {
    $("#message").textContent = `Could not load the networks' data (${error.message}): reload the page.`;
    throw error;
  }
  const states = ["connecting…", "connecting…"];
  const status = (i) => (state) => {
    states[i] = state;
    const both = states.every((s) => s === "connected") ? "connected" : states.find((s) => s !== "connected");
    $("#status").textContent = $("#status").dataset.state = both;
    showConnection($("#canvas"), both);
  };
  const error = ({ error }) => ($("#message").textContent = error);
  const legend = new Legend($("#legend-box"));
  const sides = roots.map((root, i) => new Side(root, data[i], painters[i], status(i), error, legend));
  // One legend: it gives the numbers of the side last pointed at (the first to begin with).
  const own = (side) => sides.forEach((s) => (s.layers.legend = s === side ? legend : null));
  sides.forEach((side, i) => roots[i].addEventListener("pointerenter", () => {
    own(side);
    side.layers.showLegend();
  }));
  own(sides[0]);
  const pad = new DrawingPad($("#canvas"), (kind) => {
    $("#message").textContent = "";
    for (const side of sides) side.draw(pad, kind);
  });
  $("#clear").addEventListener("click", () => pad.clear());
  $("#undo").addEventListener("click", () => pad.undo());
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea")) return;
    const key = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && key === "z") {
      e.preventDefault();
      pad.undo();
    } else if (!e.ctrlKey && !e.metaKey && !e.altKey && (key === "c" || key === "delete")) {
      pad.clear();
    } else if (!e.ctrlKey && !e.metaKey && !e.altKey && key === "u") {
      pad.undo();
    }
  });
}

await start();
