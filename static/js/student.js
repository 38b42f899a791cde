// A student's page: the drawing page, plus choosing the digit meant and sending it to the
// class, a list of what was sent with ✓/✗, and the teacher's drawing when they "follow me".
import { startDrawingApp } from "./app.js";
import { thumbnail, unpackThumbnails, verdict } from "./submissions.js";

const $ = (selector) => document.querySelector(selector);
const panel = $("#class-panel");
const code = panel.dataset.code;
const submit = $("#submit");
const note = $("#class-message");
const state = { intended: null, closed: !$("#closed-banner").hidden, following: false, sending: false, ended: false };
const mine = [];
const digits = [...document.querySelectorAll("#intended button")];
const tools = [$("#undo"), $("#clear"), $("#file"), ...digits];

const app = await startDrawingApp({
  onConnect: (socket) => socket.emit("join_class", { code, role: "student" }),
  onChange: () => update(),
  // On a phone the prediction panel is below the fold: repeat the reading by the send button.
  onShow: (frame) => {
    $("#live-read strong").textContent = frame
      ? `${frame.digit} (${Math.round(100 * frame.probabilities[frame.digit])}% sure)`
      : "–";
  },
});
const socket = app.connection.socket;

function update() {
  const drawn = app.pad.strokes.some((s) => s.length) && !app.pad.picture;
  submit.disabled = !drawn || state.intended === null || state.closed || state.following || state.sending || state.ended;
  $("#closed-banner").hidden = !state.closed;
  $("#follow-banner").hidden = !state.following;
  panel.classList.toggle("is-following", state.following);
  document.body.classList.toggle("is-following", state.following); // room for the banner on top
  // The pad shows the teacher's drawing: its tools and the digit picker are off, and look it.
  for (const tool of tools) tool.disabled = state.following;
}

// A radio group: one tab stop (the chosen digit, or 0 before any), arrows move the choice.
function choose(digit) {
  state.intended = digit;
  for (const b of digits) {
    const chosen = Number(b.dataset.digit) === digit;
    b.setAttribute("aria-checked", String(chosen));
    b.tabIndex = chosen || (digit === null && b === digits[0]) ? 0 : -1;
  }
  update();
}

const STEPS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

function pickWithKeys(e) {
  const at = digits.indexOf(e.target);
  let next;
  if (e.key in STEPS) next = (at + STEPS[e.key] + digits.length) % digits.length;
  else if (e.key === "Home") next = 0;
  else if (e.key === "End") next = digits.length - 1;
  else return;
  e.preventDefault(); // the arrows would scroll the page
  choose(Number(digits[next].dataset.digit));
  digits[next].focus();
}

function showMine() {
  const list = $("#my-submissions");
  list.replaceChildren(
    ...mine.slice().reverse().map((s) => {
      const item = document.createElement("li");
      item.className = s.correct ? "right" : "wrong";
      item.dataset.id = s.id;
      const text = document.createElement("span");
      text.textContent = verdict(s);
      item.append(thumbnail(s.thumbnail, `your ${s.intended}`), text);
      return item;
    }),
  );
  const right = mine.filter((s) => s.correct).length;
  $("#my-score").textContent = mine.length ? `· ${right} of ${mine.length} read right` : "";
}

for (const b of digits) b.addEventListener("click", () => choose(Number(b.dataset.digit)));
$("#intended").addEventListener("keydown", pickWithKeys);
document.addEventListener("keydown", (e) => {
  if (!/^[0-9]$/.test(e.key) || e.target.closest("input, textarea, dialog") || state.following) return;
  choose(Number(e.key));
  if (e.target.closest("#intended")) digits[Number(e.key)].focus(); // the group's one tab stop moved there
});

submit.addEventListener("click", () => {
  const { pad } = app;
  state.sending = true;
  update();
  note.textContent = "Sending…";
  socket.emit("submit", { strokes: pad.strokes, width: pad.canvas.width, height: pad.canvas.height, intended: state.intended });
});

// The teacher switched the class to another model (one fine-tuned on its drawings): the
// page is remade for that model's layers, and says which it is.
socket.on("class_model", () => location.reload());
socket.on("class_state", (s) => {
  $("#student-name").textContent = s.name;
  state.closed = s.closed;
  state.following = s.following;
  mine.splice(0, mine.length, ...unpackThumbnails(s));
  showMine();
  if (s.following) app.showGuest(null, null); // the teacher's drawing follows, if there is one yet
  else app.release();
  update();
});

socket.on("submitted", (s) => {
  state.sending = false;
  mine.push(s);
  showMine();
  note.textContent = s.correct
    ? `Sent. The network read your ${s.intended} right ✓`
    : `Sent. The network read your ${s.intended} as a ${s.predicted} ✗`;
  app.pad.clear();
  choose(null);
});

socket.on("error_message", ({ error }) => {
  if (!state.sending) return;
  state.sending = false;
  note.textContent = error;
  update();
});

socket.on("follow", ({ on }) => {
  state.following = on;
  if (on) app.showGuest(null, null);
  else app.release();
  update();
});

socket.on("follow_frame", ({ strokes, width, height, frame }) => {
  if (!state.following) {
    state.following = true; // joined while the teacher was drawing
    update();
  }
  app.showGuest(frame, { strokes, width, height });
});

socket.on("class_closed", ({ closed }) => {
  state.closed = closed;
  update();
});

socket.on("class_deleted", () => {
  state.ended = true;
  state.following = false;
  app.release();
  update();
  note.textContent = "Your teacher has ended this class. You can still draw here.";
});

choose(null);
