// Connections by keyboard, for those who cannot point: on a focused layer, Shift + arrow keys
// move a unit cursor within the focused map, and the outlines and live text are the
// pointer's (connections.js), so a screen reader hears what a mouse shows. Plain arrow keys
// still walk from map to map (activations.js); the cursor keeps its row and column in the
// new map. A dense layer is one grid of units: arrow keys alone move it there. Escape, or
// leaving the layer, clears it. No new tab stops: the layer's canvas is the one it had.
const MOVES = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
const MAP_KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"];
const clamp = (v, n) => Math.min(n - 1, Math.max(0, v));

export class KeyboardCursor {
  // `connections`: the Connections that draws the outlines.
  constructor(root, connections) {
    this.connections = connections;
    root.addEventListener("keydown", (e) => this.key(e));
    root.addEventListener("focusout", (e) => this.left(e));
  }

  // The cursor on this canvas's layer, or null.
  cursorOn(name) {
    const p = this.connections.pointed;
    return p?.keyboard && p.name === name ? p : null;
  }

  key(e) {
    const canvas = e.target.closest?.("canvas.layer-maps");
    if (!canvas || e.ctrlKey || e.metaKey || e.altKey || !this.connections.frame) return;
    const name = canvas.closest(".layer").dataset.layer;
    const cursor = this.cursorOn(name), dense = this.connections.isDense(name);
    if (e.key === "Escape" && cursor) {
      e.preventDefault();
      this.connections.clear();
      this.connections.live.textContent = "Unit cursor cleared";
    } else if (MOVES[e.key] && (e.shiftKey || dense)) {
      e.preventDefault();
      this.place(cursor ? this.moved(canvas, cursor, MOVES[e.key]) : { name, m: dense ? 0 : +canvas.dataset.focus, row: 0, col: 0 });
    } else if (cursor && !dense && !e.shiftKey && MAP_KEYS.includes(e.key)) {
      // activations.js has moved the focused map already (its listener is on the canvas).
      this.place({ ...cursor, m: +canvas.dataset.focus });
    }
  }

  // The cursor one step on, staying inside its map (a dense layer: inside its units).
  moved(canvas, cursor, [dr, dc]) {
    const w = +canvas.dataset.mapWidth, h = +canvas.dataset.mapHeight;
    if (!this.connections.isDense(cursor.name)) return { ...cursor, row: clamp(cursor.row + dr, h), col: clamp(cursor.col + dc, w) };
    // A dense layer's units fill its grid row by row: the unit is row * w + column.
    const units = this.connections.links.byFrame[cursor.name].shape[0];
    const unit = clamp(Math.floor(cursor.col / w) + dr, h) * w + clamp((cursor.col % w) + dc, w);
    return { ...cursor, col: unit < units ? unit : cursor.col };
  }

  place(unit) {
    const p = this.connections.pointed;
    if (p?.keyboard && p.name === unit.name && p.m === unit.m && p.row === unit.row && p.col === unit.col) return;
    this.connections.show({ ...unit, keyboard: true });
  }

  left(e) {
    if (!e.target.matches?.("canvas.layer-maps") || e.relatedTarget === e.target) return;
    if (this.connections.pointed?.keyboard) this.connections.clear();
  }
}
