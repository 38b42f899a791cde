// The teacher's projector view: how to join, the live gallery, class accuracy and the
// confusion matrix; a stage that shows one submission big (spotlight) or the teacher's own
// drawing, sent live to every student (follow me); closing, exporting and deleting.
import { startDrawingApp } from "./app.js";
import { classTraining } from "./class-training.js";
import { ConfusionMatrix } from "./confusion.js";
import { Gallery } from "./gallery.js";
import { Names } from "./names.js";
import { unlikeNote, unpackThumbnails, verdict } from "./submissions.js";

const $ = (selector) => document.querySelector(selector);
const code = $("#class-code").dataset.code;
const stage = $("#stage");
// following: the class is following a teacher page; drawing: this page is the one drawing.
const state = { following: false, drawing: false, closed: $("#close-class").getAttribute("aria-pressed") === "true", filter: null };

const app = await startDrawingApp({
  onConnect: (socket) => socket.emit("join_class", { code, role: "teacher" }),
  sendEmpty: () => state.following, // students' screens clear when the teacher's pad does
  keyScope: stage,
});
const socket = app.connection.socket;
classTraining(socket);

const names = new Names();
const gallery = new Gallery($("#gallery"), $("#gallery-empty"), names, (id) => socket.emit("spotlight", { id }));
const matrix = new ConfusionMatrix($("#confusion"), $("#accuracy"), (intended, predicted) => filter({ intended, predicted }));

function filter(only) {
  state.filter = only;
  gallery.filter(only);
  matrix.select(only);
  $("#gallery-filter").textContent = only ? `· meant ${only.intended}, read ${only.predicted}` : "";
  $("#show-all").hidden = !only;
}

function counts({ joined, online }) {
  $("#joined").textContent = joined;
  $("#online").textContent = online;
}

function openStage(mode, title) {
  stage.dataset.mode = mode;
  $("#stage-title").textContent = title;
  if (!stage.open) stage.showModal();
}

function setFollowing(on) {
  state.following = on;
  $("#follow").setAttribute("aria-pressed", String(on));
  if (on && state.drawing) {
    openStage("follow", "You are drawing for the class: every student sees this");
    app.release();
    app.pad.clear(); // a fresh page, sent to the class
  } else if (on) {
    // Another of the teacher's pages draws (a tablet, say): this one shows it, like the students'.
    openStage("follow", "The class is watching the teacher's drawing");
    app.showGuest(null, null);
  } else {
    state.drawing = false;
    if (stage.open && stage.dataset.mode === "follow") stage.close();
  }
}

function setClosed(closed) {
  state.closed = closed;
  const button = $("#close-class");
  button.setAttribute("aria-pressed", String(closed));
  button.textContent = closed ? "Reopen class" : "Close class";
  button.title = closed ? "Closed to new drawings: click to reopen" : "Stop new drawings (students can still draw for themselves)";
}

socket.on("class_state", (s) => {
  counts(s);
  gallery.reset(unpackThumbnails(s));
  matrix.update(s.stats);
  $("#total").textContent = s.stats.total;
  setClosed(s.closed);
  if (s.following !== state.following) setFollowing(s.following);
  filter(state.filter);
});
socket.on("class_roster", counts);
socket.on("submission", ({ submission, stats }) => {
  gallery.add(submission);
  matrix.update(stats);
  $("#total").textContent = stats.total;
});
const spotlightTitle = (s) => `${names.of(s)}: ${verdict(s)} (${Math.round(100 * s.confidence)}% sure)${unlikeNote(s)}`;

socket.on("spotlight", ({ submission, frame }) => {
  if (state.following) return; // the teacher is drawing for the class: don't take the stage away
  state.spotlight = submission;
  openStage("spotlight", spotlightTitle(submission));
  app.showGuest(frame, null);
});
socket.on("follow", ({ on }) => {
  if (on !== state.following) setFollowing(on);
});
socket.on("follow_frame", ({ strokes, width, height, frame }) => {
  if (state.following && !state.drawing) app.showGuest(frame, { strokes, width, height });
});
socket.on("class_closed", ({ closed }) => setClosed(closed));
socket.on("class_deleted", () => {
  if (stage.open) stage.close();
  document.querySelector("main").replaceChildren(
    Object.assign(document.createElement("p"), { className: "ended", textContent: "This class is deleted: its names and drawings are gone." }),
  );
  document.querySelector(".teacher-actions").hidden = true;
});

stage.addEventListener("close", () => {
  if (state.following) {
    socket.emit("follow", { on: false });
    setFollowing(false);
  }
});
$("#stage-close").addEventListener("click", () => stage.close());
$("#follow").addEventListener("click", () => {
  const on = !state.following;
  state.drawing = on;
  socket.emit("follow", { on });
  setFollowing(on);
});
$("#close-class").addEventListener("click", () => socket.emit("close_class", { closed: !state.closed }));
$("#show-all").addEventListener("click", () => filter(null));
$("#toggle-join").addEventListener("click", toggleJoin);
$("#delete-class").addEventListener("click", () => $("#confirm-delete").showModal());
$("#confirm-delete").addEventListener("close", () => {
  if ($("#confirm-delete").returnValue === "delete") socket.emit("delete_class", { code });
});
$("#private-link").addEventListener("focus", (e) => e.target.select());

// Anonymous mode, remembered per class on this browser (the projector's): names hidden on
// this screen only; the exports and the students' own pages are unchanged.
const ANONYMOUS_KEY = `cnnview-anonymous-${code}`;

function setAnonymous(hidden) {
  names.hidden = hidden;
  $("#anonymous").setAttribute("aria-pressed", String(hidden));
  gallery.relabel();
  if (stage.open && stage.dataset.mode === "spotlight") $("#stage-title").textContent = spotlightTitle(state.spotlight);
  try {
    localStorage.setItem(ANONYMOUS_KEY, hidden ? "1" : "");
  } catch {} // storage refused (private mode): the choice lasts until reload
}

function toggleJoin() {
  const shown = document.body.classList.toggle("hide-join") === false;
  $("#toggle-join").setAttribute("aria-pressed", String(shown));
}

document.addEventListener("keydown", (e) => {
  if (stage.open || e.target.closest("input, textarea, dialog") || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key.toLowerCase() === "j") toggleJoin();
  else if (e.key.toLowerCase() === "n") $("#anonymous").click();
  else if (e.key.toLowerCase() === "f") $("#follow").click();
});

$("#anonymous").addEventListener("click", () => setAnonymous(!names.hidden));
try {
  if (localStorage.getItem(ANONYMOUS_KEY)) setAnonymous(true);
} catch {}
