// The Socket.IO link: drawings out, binary frames in, both flow-controlled. At most WINDOW
// drawing states are out without an answer; a newer state waits (only the newest) and goes
// when an answer comes, so the rate follows the link. Pen-up always goes at once. Each frame
// is acknowledged once taken: the server sends a client no more than two unacknowledged.
import { io } from "../vendor/socket.io/socket.io.esm.min.js";
import { frameSeq } from "./frame.js";

const WINDOW = 2;
const ANSWER_TIMEOUT_MS = 3000; // an answer the server never sent (a refused message) must not stall the page
const isNewer = (a, b) => ((a - b) | 0) > 0; // sequence numbers wrap at 2^32

export class Connection {
  // `onFrame(bytes, seq)`: a frame (an ArrayBuffer) for drawing state `seq`.
  constructor({ onFrame, onError, onStatus, onConnect = () => {} }) {
    this.seq = 0;
    this.pending = null;
    this.scheduled = false;
    this.inFlight = []; // sequence numbers sent and not yet answered
    this.retry = null;
    this.socket = io({ transports: ["websocket", "polling"] });
    this.socket.on("connect", () => {
      onStatus("connected");
      this.inFlight = []; // answers to a lost connection will not come
      onConnect(this.socket); // before the resend below: the server handles a client's events in order
      if (this.last) this.send(this.last); // a reconnect: ask again for what is on screen
    });
    this.socket.on("disconnect", () => onStatus("disconnected"));
    this.socket.on("connect_error", () => onStatus("cannot reach the server"));
    // Acknowledged on receipt, not once painted: the page keeps only the newest frame
    // waiting for its paint worker (painter.js), so a frame taken is never a backlog, and
    // the server can send the next one while this one is painted, which keeps what is shown
    // a round trip fresher. What a slow device cannot paint costs a 4 KB frame, dropped.
    this.socket.on("frame", (data, ack) => {
      ack?.();
      const seq = frameSeq(data);
      this.answered(seq);
      onFrame(data, seq);
    });
    // The teacher's frames in follow me: shown by teacher.js or student.js, acknowledged here.
    this.socket.on("follow_frame", (_payload, ack) => ack?.());
    this.socket.on("error_message", (e) => {
      this.answered(e.seq);
      onError(e);
    });
  }

  // A new drawing state; returns its sequence number. Sent on the next animation frame when
  // the window has room, or at once when `now` (pen up): the server always gets the newest state.
  draw(strokes, width, height, now = false) {
    this.seq = (this.seq + 1) >>> 0;
    this.pending = { event: "draw", payload: { seq: this.seq, strokes, width, height } };
    if (now) this.flush(true);
    else if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.flush());
    }
    return this.seq;
  }

  image(bytes) {
    this.seq = (this.seq + 1) >>> 0;
    this.pending = { event: "image", payload: { seq: this.seq, data: bytes } };
    this.flush(true);
    return this.seq;
  }

  // A state that needs no answer (nothing drawn): just move on.
  skip() {
    this.seq = (this.seq + 1) >>> 0;
    this.pending = null;
    this.last = null;
    return this.seq;
  }

  // The server answers the newest state it has and drops older ones: an answer for `seq`
  // settles every state sent up to it.
  answered(seq) {
    if (typeof seq !== "number") return;
    this.inFlight = this.inFlight.filter((sent) => isNewer(sent, seq));
    if (this.pending && !this.scheduled) this.flush();
  }

  flush(now = false) {
    this.scheduled = false;
    if (!this.pending) return;
    if (!now && this.inFlight.length >= WINDOW) {
      this.waitForAnswers();
      return;
    }
    clearTimeout(this.retry);
    this.retry = null;
    this.send(this.pending);
    this.inFlight.push(this.pending.payload.seq);
    this.last = this.pending;
    this.pending = null;
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
