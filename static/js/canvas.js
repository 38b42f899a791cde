// The drawing surface: pointer events (mouse, touch, pen), strokes in canvas pixels, undo.
// Locked, it shows someone else's drawing and keeps its own strokes for later.
export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange;
    this.strokes = [];
    this.picture = null; // an uploaded image shown instead of strokes
    this.pointerId = null;
    this.locked = false;
    this.guest = null; // { strokes, width, height } shown while locked
    const style = getComputedStyle(canvas);
    this.paper = style.getPropertyValue("--canvas-bg").trim() || "#fff";
    this.ink = style.getPropertyValue("--ink").trim() || "#000";
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, (e) => this.up(e));
    this.redraw();
  }

  // `rect`: the canvas's box, read once per stroke: read on every move, it forced a layout of
  // the whole page whenever a frame had just changed some text.
  point(e, rect = this.canvas.getBoundingClientRect()) {
    const x = ((e.clientX - rect.left) * this.canvas.width) / rect.width;
    const y = ((e.clientY - rect.top) * this.canvas.height) / rect.height;
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }

  down(e) {
    if (this.locked || this.pointerId !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    this.pointerId = e.pointerId;
    this.canvas.setPointerCapture(e.pointerId);
    if (this.picture) {
      this.picture = null;
      this.redraw();
    }
    this.rect = this.canvas.getBoundingClientRect();
    const p = this.point(e, this.rect);
    this.strokes.push([p]);
    this.segment(p, p);
    this.onChange("draw");
  }

  move(e) {
    if (this.locked || e.pointerId !== this.pointerId) return;
    e.preventDefault();
    const stroke = this.strokes[this.strokes.length - 1];
    // Coalesced events keep fast strokes smooth where the browser batches them.
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev, this.rect);
      this.segment(stroke[stroke.length - 1], p);
      stroke.push(p);
    }
    this.onChange("draw");
  }

  up(e) {
    if (e.pointerId !== this.pointerId) return;
    this.pointerId = null;
    this.onChange("end");
  }

  clear() {
    if (this.locked) return;
    this.strokes = [];
    this.picture = null;
    this.pointerId = null;
    this.redraw();
    this.onChange("clear");
  }

  undo() {
    if (this.locked) return;
    if (this.picture) return this.clear();
    if (!this.strokes.length) return;
    this.strokes.pop();
    this.pointerId = null;
    this.redraw();
    this.onChange("undo");
  }

  showPicture(bitmap) {
    this.strokes = [];
    this.picture = bitmap;
    this.redraw();
  }

  // Show someone else's drawing (or nothing) instead of this pad's own, which waits.
  lock(drawing = null) {
    this.locked = true;
    this.pointerId = null;
    this.guest = drawing;
    this.redraw();
  }

  unlock() {
    this.locked = false;
    this.guest = null;
    this.redraw();
  }

  get isEmpty() {
    return !this.picture && this.strokes.every((s) => s.length === 0);
  }

  // Only the new piece is drawn while the pen moves; whole redraws are for undo and clear.
  segment(from, to) {
    const { ctx } = this;
    this.pen();
    ctx.beginPath();
    ctx.moveTo(...from);
    ctx.lineTo(to[0] + (from === to ? 0.01 : 0), to[1]);
    ctx.stroke();
  }

  pen() {
    const { ctx } = this;
    ctx.strokeStyle = this.ink;
    ctx.lineWidth = this.canvas.width * 0.045;
    ctx.lineCap = ctx.lineJoin = "round";
  }

  redraw() {
    const { ctx, canvas } = this;
    ctx.fillStyle = this.paper;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (this.locked) return this.drawGuest();
    if (this.picture) {
      const s = Math.min(canvas.width / this.picture.width, canvas.height / this.picture.height);
      const w = this.picture.width * s, h = this.picture.height * s;
      ctx.drawImage(this.picture, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
      return;
    }
    this.drawStrokes(this.strokes, 1);
  }

  drawGuest() {
    const { guest, canvas } = this;
    if (!guest || !Array.isArray(guest.strokes)) return;
    this.drawStrokes(guest.strokes, Math.min(canvas.width / guest.width, canvas.height / guest.height) || 1);
  }

  drawStrokes(strokes, scale) {
    const { ctx } = this;
    this.pen();
    for (const stroke of strokes) {
      if (!stroke.length) continue;
      const points = stroke.map(([x, y]) => [x * scale, y * scale]);
      ctx.beginPath();
      ctx.moveTo(...points[0]);
      for (const p of points.slice(1)) ctx.lineTo(...p);
      if (points.length === 1) ctx.lineTo(points[0][0] + 0.01, points[0][1]);
      ctx.stroke();
    }
  }
}
