// The page's end of its Socket.IO link, which runs in the paint worker (stream.js, flow
// control included): a socket, however slow this thread is, takes every frame as it comes
// and the worker paints it at once. Here drawing states are numbered and posted to it, and
// its events come back to `socket` (a stand-in with `on`, `emit` and `connected`, for the
// classroom's pages). The frames of the page's own drawing come back painted, as values.

// The page's side of the socket: the events the worker passes on, and what the page emits.
class WorkerSocket {
  constructor(painter) {
    this.painter = painter;
    this.connected = false;
    this.handlers = new Map(); // event name → [handler]
  }

  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
  }

  emit(event, payload) {
    this.painter.post({ type: "emit", event, payload });
  }

  // An event from the worker; acknowledged (`ack`) once every handler has run, so that a
  // busy main thread holds the server's next one back (follow me: never a backlog here).
  dispatch(name, args, ack) {
    if (name === "connect" || name === "disconnect") this.connected = name === "connect";
    try {
      for (const handler of this.handlers.get(name) || []) handler(...args);
    } finally {
      if (ack) this.painter.post({ type: "ack", ack });
    }
  }
}

export class Connection {
  // `painter`: the Painter (painter.js) whose worker runs the link and paints this page's
  // frames. `onFrame(frame)`: a frame of this page's drawing was painted, with its values
  // ({seq, digit, probabilities, image, layers}). `onConnect(socket)`: on every
  // (re)connection, before the drawing on screen is asked for again.
  constructor(painter, { onFrame, onError, onStatus, onConnect = () => {} }) {
    this.seq = 0;
    this.painter = painter;
    this.socket = new WorkerSocket(painter);
    this.socket.on("connect", () => {
      onStatus("connected");
      onConnect(this.socket);
      painter.post({ type: "resume" }); // after onConnect's events: the worker keeps their order
    });
    this.socket.on("disconnect", () => onStatus("disconnected"));
    this.socket.on("connect_error", () => onStatus("cannot reach the server"));
    this.socket.on("error_message", (e) => onError(e));
    painter.connect((name, args, ack) => this.socket.dispatch(name, args, ack), onFrame);
  }

  // A new drawing state; returns its sequence number. The worker sends it when its window has
  // room, or at once when `now` (pen up).
  draw(strokes, width, height, now = false) {
    this.seq = (this.seq + 1) >>> 0;
    this.send({ event: "draw", payload: { seq: this.seq, strokes, width, height } }, now);
    return this.seq;
  }

  image(bytes) {
    this.seq = (this.seq + 1) >>> 0;
    this.send({ event: "image", payload: { seq: this.seq, data: bytes } }, true);
    return this.seq;
  }

  // A state that needs no answer (nothing drawn): just move on; frames of earlier states
  // are no longer painted.
  skip() {
    this.seq = (this.seq + 1) >>> 0;
    this.painter.post({ type: "skip", seq: this.seq });
    return this.seq;
  }

  // While the page shows someone else's frames (follow me, a spotlight), its own are not painted.
  hold(on) {
    this.painter.post({ type: "guest", on });
  }

  send(message, now) {
    this.painter.post({ type: "draw", message, now });
  }
}
