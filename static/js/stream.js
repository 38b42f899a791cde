// The Socket.IO link, run in the paint worker (paint-worker.js) so that the stream never
// waits for the page's main thread: drawings out, binary frames in, both flow-controlled.
// At most WINDOW drawing states are out without an answer; a newer state waits (only the
// newest) and goes when an answer comes, so the rate follows the link. Pen-up always goes at
// once. Each frame is acknowledged once taken: the server sends a client no more than two
// unacknowledged. Under CPU pressure (pressure.js) two drawing states are also at least
// `pace.gap` ms apart, so that a busy device paints fewer maps rather than falling behind.
// The page (connection.js) posts its drawing states and other events here and gets every
// other event back; the frames of its own drawing are painted here, at once.
import { io } from "../vendor/socket.io/socket.io.esm.min.js";
import { frameSeq, isNewer } from "./frame.js";

const WINDOW = 2;
const ANSWER_TIMEOUT_MS = 3000; // an answer the server never sent (a refused message) must not stall the page

export class Stream {
  // `onFrame(bytes, seq)`: a frame of the page's own drawing. `onEvent(name, args)`: any other
  // event for the page (connect, disconnect and connect_error included). `pace.gap`: the
  // least time between two drawing states (ms; pen-up goes at once whatever it is).
  constructor({ onFrame, onEvent, pace = { gap: 0 } }) {
    this.pending = null; // { event, payload }: the newest state not yet sent
    this.pace = pace;
    this.sentAt = -Infinity; // when the last state went (performance.now())
    this.paced = null; // the timer that sends the pending state once the gap has passed
    this.inFlight = []; // sequence numbers sent and not yet answered
    this.last = null; // the state last sent: asked for again after a reconnect
    this.ready = false; // connected, and the page has said what it says first (join_class…)
    this.retry = null;
    this.onEvent = onEvent;
    this.socket = io({ transports: ["websocket", "polling"] });
    for (const name of ["connect", "disconnect", "connect_error"]) {
      this.socket.on(name, () => {
        this.ready = false; // until the page has had its say (resume)
        this.inFlight = []; // answers to a lost connection will not come
        this.acks.clear(); // nor will acknowledgements reach it
        onEvent(name, []);
      });
    }
    // Acknowledged on receipt, not once painted: the worker keeps only the newest frame, so a
    // frame taken is never a backlog, and the server can send the next while this is painted.
    this.socket.on("frame", (data, ack) => {
      ack?.();
      const seq = frameSeq(data);
      this.answered(seq);
      onFrame(data, seq);
    });
    this.socket.on("error_message", (e) => this.answered(e?.seq));
    // Everything else goes to the page as it came. An event the server wants acknowledged
    // (follow me's frames) is acknowledged once the page has handled it, not on arrival here:
    // the server's window per recipient then bounds what waits for a slow page's main thread.
    this.acks = new Map(); // number → the acknowledgement of an event the page is handling
    this.acked = 0;
    this.socket.onAny((name, ...args) => {
      if (name === "frame") return;
      let ack = null;
      if (typeof args[args.length - 1] === "function") {
        ack = ++this.acked;
        this.acks.set(ack, args.pop());
      }
      onEvent(name, args, ack);
    });
  }

  // After a (re)connection, once the page has sent what must come first: the server handles a
  // client's events in order, so a student's join_class precedes their drawing.
  resume() {
    this.ready = true;
    if (this.last) this.send(this.last); // a reconnect: ask again for what is on screen
    this.flush();
  }

  // A new drawing state ({ event, payload } with payload.seq): sent when the window has room,
  // or at once when `now` (pen up): the server always gets the newest state.
  draw(message, now = false) {
    this.pending = message;
    this.flush(now);
  }

  // A state that needs no answer (nothing drawn).
  skip() {
    this.pending = null;
    this.last = null;
  }

  emit(event, payload) {
    this.socket.emit(event, payload);
  }

  // The page has handled event `ack` (onEvent's third argument).
  acknowledge(ack) {
    const answer = this.acks.get(ack);
    this.acks.delete(ack);
    answer?.();
  }

  // The server answers the newest state it has and drops older ones: an answer for `seq`
  // settles every state sent up to it.
  answered(seq) {
    if (typeof seq !== "number") return;
    this.inFlight = this.inFlight.filter((sent) => isNewer(sent, seq));
    this.flush();
  }

  flush(now = false) {
    if (!this.pending || !this.ready) return;
    if (!now && this.inFlight.length >= WINDOW) return this.waitForAnswers();
    if (!now && this.tooSoon()) return;
    clearTimeout(this.retry);
    this.retry = null;
    clearTimeout(this.paced);
    this.paced = null;
    this.sentAt = performance.now();
    this.send(this.pending);
    this.inFlight.push(this.pending.payload.seq);
    this.last = this.pending;
    this.pending = null;
  }

  // Whether the pace holds the pending state back; if so, it goes when the gap has passed
  // (or sooner, at pen-up).
  tooSoon() {
    const wait = this.sentAt + this.pace.gap - performance.now();
    if (wait <= 0) return false;
    this.paced ??= setTimeout(() => {
      this.paced = null;
      this.flush();
    }, wait);
    return true;
  }

  waitForAnswers() {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.inFlight = [];
      this.flush();
    }, ANSWER_TIMEOUT_MS);
  }

  send({ event, payload }) {
    this.socket.emit(event, payload);
  }
}
