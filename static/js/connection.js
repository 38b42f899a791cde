// The Socket.IO link: drawings out (at most one per animation frame), binary frames in.
import { io } from "../vendor/socket.io/socket.io.esm.min.js";
import { decodeFrame } from "./frame.js";

export class Connection {
  constructor({ onFrame, onError, onStatus, onConnect = () => {} }) {
    this.seq = 0;
    this.pending = null;
    this.scheduled = false;
    this.socket = io({ transports: ["websocket", "polling"] });
    this.socket.on("connect", () => {
      onStatus("connected");
      onConnect(this.socket); // before the resend below: the server handles a client's events in order
      if (this.last) this.send(this.last); // a reconnect: ask again for what is on screen
    });
    this.socket.on("disconnect", () => onStatus("disconnected"));
    this.socket.on("connect_error", () => onStatus("cannot reach the server"));
    this.socket.on("frame", (data) => onFrame(decodeFrame(data)));
    this.socket.on("error_message", (e) => onError(e));
  }

  // A new drawing state; returns its sequence number. Sent on the next animation frame,
  // or at once when `now` (pen up): the server always gets the newest state.
  draw(strokes, width, height, now = false) {
    this.seq = (this.seq + 1) >>> 0;
    this.pending = { event: "draw", payload: { seq: this.seq, strokes, width, height } };
    if (now) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.flush());
    }
    return this.seq;
  }

  image(bytes) {
    this.seq = (this.seq + 1) >>> 0;
    this.pending = { event: "image", payload: { seq: this.seq, data: bytes } };
    this.flush();
    return this.seq;
  }

  // A state that needs no answer (nothing drawn): just move on.
  skip() {
    this.seq = (this.seq + 1) >>> 0;
    this.pending = null;
    this.last = null;
    return this.seq;
  }

  flush() {
    this.scheduled = false;
    if (!this.pending) return;
    this.send(this.pending);
    this.last = this.pending;
    this.pending = null;
  }

  send({ event, payload }) {
    this.socket.emit(event, payload);
  }
}
