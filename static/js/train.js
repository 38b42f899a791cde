// The training page: settings in, a job's live events out (progress and ETA, loss and
// accuracy curves, the first layer's filters, a probe digit's maps and prediction). A page
// opened while a job runs is sent the job so far (training_state) and carries on from there.
import { io } from "../vendor/socket.io/socket.io.esm.min.js";
import { DrawingPad } from "./canvas.js";
import { Curves } from "./curves.js";
import { drawFilters, drawMaps, drawProbabilities } from "./train-pictures.js";

const $ = (selector) => document.querySelector(selector);
const form = $("#train-form");
const allowed = $("#training").dataset.allowed === "true";
const style = getComputedStyle(document.body);
const colour = (name, fallback) => style.getPropertyValue(name).trim() || fallback;

const loss = new Curves($("#loss-curve"), { label: "loss" });
const accuracy = new Curves($("#accuracy-curve"), { yMax: 1, label: "accuracy" });
for (const curves of [loss, accuracy]) {
  curves.define("train", colour("--train-colour", "#4fa3ff"));
  curves.define("validation", colour("--validation-colour", "#ff9f1c"), true);
}
const job = { total: 1, perEpoch: 1, epochs: 1, state: null, id: null };
const pad = new DrawingPad($("#probe-pad"), () => {});

const socket = io({ transports: ["websocket", "polling"] });
socket.on("connect", () => {
  $("#status").dataset.state = "connected";
  $("#status").textContent = "connected";
  socket.emit("train_watch", {});
});
socket.on("disconnect", () => {
  $("#status").dataset.state = "disconnected";
  $("#status").textContent = "disconnected";
});
socket.on("error_message", ({ error }) => ($("#train-error").textContent = error));
socket.on("training_state", ({ presets, job: snapshot }) => {
  setup(presets);
  if (snapshot) replay(snapshot);
});
socket.on("training", (event) => {
  if (event.job !== job.id && event.type !== "queued") return; // an older job's last words
  handle(event);
});

function setup(presets) {
  const fill = () => {
    const preset = presets[form.elements.preset.value];
    for (const [name, value] of Object.entries(preset)) if (form.elements[name]) form.elements[name].value = value;
  };
  form.elements.preset.onchange = fill;
  if (!form.dataset.filled) fill();
  form.dataset.filled = "yes";
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const settings = { preset: form.elements.preset.value, architecture: form.elements.architecture.value };
  for (const name of ["epochs", "batch_size", "samples_per_epoch", "validation_samples"]) settings[name] = Number.parseInt(form.elements[name].value, 10);
  settings.learning_rate = Number.parseFloat(form.elements.learning_rate.value);
  $("#train-error").textContent = "";
  socket.emit("train_start", settings);
});
for (const command of ["pause", "resume", "stop"]) $(`#train-${command}`).addEventListener("click", () => socket.emit(`train_${command}`, {}));
$("#probe-use").addEventListener("click", () => {
  if (pad.strokes.length) socket.emit("train_probe", { strokes: pad.strokes, width: pad.canvas.width, height: pad.canvas.height });
});
$("#probe-clear").addEventListener("click", () => pad.clear());

// A page opened late: everything the job did so far, then its events as they come.
function replay(snapshot) {
  job.id = snapshot.id;
  handle({ type: "queued", job: snapshot.id });
  if (snapshot.latest.started) handle(snapshot.latest.started);
  for (const point of snapshot.points) handle(point);
  for (const epoch of snapshot.epochs) handle(epoch);
  if (snapshot.latest.pictures) handle(snapshot.latest.pictures);
  const last = ["done", "failed", "diverged", "stopped", "paused"].find((k) => snapshot.latest[k]);
  if (last && (snapshot.state === last)) handle(snapshot.latest[last]);
  setState(snapshot.state);
}

const handlers = {
  queued(e) {
    job.id = e.job;
    loss.clear();
    accuracy.clear();
    $("#train-progress").value = 0;
    $("#train-result").textContent = "";
    $("#train-eta").textContent = "Starting: the training process is loading TensorFlow…";
    setState("starting");
  },
  started(e) {
    Object.assign(job, { total: e.total_steps, perEpoch: e.steps_per_epoch, epochs: e.epochs });
    loss.clear(e.total_steps);
    accuracy.clear(e.total_steps);
    setState("running");
  },
  progress(e) {
    $("#train-progress").value = e.step / e.total_steps;
    $("#train-eta").textContent = `Step ${e.step} of ${e.total_steps} · epoch ${e.epoch} of ${job.epochs} · about ${Math.ceil(e.eta)} s left`;
    loss.add("train", e.step, e.loss);
    accuracy.add("train", e.step, e.accuracy);
    $("#loss-curve").dataset.points = loss.count; // how far the curve has come, for tests
    if (job.state !== "paused" && job.state !== "stopping") setState("running");
  },
  epoch(e) {
    loss.add("validation", e.epoch * job.perEpoch, e.val_loss);
    accuracy.add("validation", e.epoch * job.perEpoch, e.val_accuracy);
  },
  pictures(e) {
    drawFilters($("#train-filters"), e.filters);
    drawMaps($("#probe-maps"), e.maps);
    drawProbabilities($("#probe-bars"), $("#probe-digit"), e.probabilities);
  },
  paused: () => setState("paused", "Paused: press Resume to go on."),
  resumed: () => setState("running"),
  stopping: () => setState("stopping", "Stopping after this batch…"),
  done(e) {
    setState("done");
    $("#train-progress").value = 1;
    const result = $("#train-result");
    const acc = e.metrics?.validation_accuracy;
    result.replaceChildren(`Trained: the model “${e.model}”${acc == null ? "" : `, ${(100 * acc).toFixed(1)}% right on its validation digits`}. `);
    const link = document.createElement("a");
    link.href = `/?model=${encodeURIComponent(e.model)}`;
    link.textContent = "Draw with it";
    result.append(link);
    $("#train-eta").textContent = e.metrics?.stopped ? `Stopped after ${e.metrics.epochs_done} epochs.` : "Finished.";
  },
  failed: (e) => finished("failed", e.error),
  diverged: (e) => finished("diverged", e.error),
  stopped: (e) => finished("stopped", e.error),
};

function handle(event) {
  handlers[event.type]?.(event);
}

function finished(state, error) {
  setState(state);
  $("#train-error").textContent = error || "";
  $("#train-eta").textContent = "Ended.";
}

// Which buttons work in which state of the job.
function setState(state, message) {
  job.state = state;
  $("#training").dataset.state = state;
  const active = ["starting", "running", "paused", "stopping"].includes(state);
  $("#train-start").disabled = !allowed || active;
  $("#train-pause").disabled = !allowed || state !== "running";
  $("#train-resume").disabled = !allowed || state !== "paused";
  $("#train-stop").disabled = !allowed || !["running", "paused"].includes(state);
  if (message) $("#train-eta").textContent = message;
}
