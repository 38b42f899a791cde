// How big each layer's maps can be drawn so that every layer fits the room there is: the
// sizes derive from the layers' shapes and the room, never from a model's name. No DOM here.
//
// A layer is { maps, w, h, dense, units, labelled, head: { width, height, beside } }: its
// maps (w × h each) or, dense, its `units`; `head` is its heading's box, above the maps or
// (`beside`) to their left; `labelled`: a column of labels beside its units (the output's
// digits), LABEL_WIDTH wide.
//
// "columns": the layers side by side, left to right, each a column of its maps as tall as
// the room (the network view on a laptop or projector). "rows": the layers one under
// another, each wrapping its maps to the room's width (a phone: the page scrolls).

export const LABEL_WIDTH = 80; // css px for "9 100%" at the page's type size (app.css: .unit-labels)
const MIN_LABELLED_UNIT = 20; // a labelled unit is at least a line of text tall
const DENSE_FRACTION = 0.25; // a dense unit's square beside a conv map of the same plan
const MIN_UNIT = 6; // css px: a unit one can still point at
const SEARCH_STEPS = 12; // to a twentieth of a pixel
const MAX_BANDS = 3;
const MORE_BANDS_GAIN = 1.2; // another band only for maps this much larger

// A map's size in a plan of base size `s` (the largest maps' width): smaller maps are drawn
// smaller, so the pooling's shrinking shows, but less than in proportion, so they stay readable.
const cellWidth = (layer, s, largest) => s * Math.sqrt(layer.h / largest);

// Dense units as a grid of squares: `rows` at most; an exact grid when one is near (no
// padding cells), the labelled output in one column.
export function unitGrid(units, rowsMax, labelled) {
  if (labelled) return { cols: 1, rows: units };
  const least = Math.ceil(units / Math.max(1, rowsMax));
  for (let cols = least; cols <= Math.ceil(1.2 * least); cols++) if (units % cols === 0 && units / cols <= rowsMax) return { cols, rows: units / cols };
  return { cols: least, rows: Math.ceil(units / least) };
}

// A map layer's grid whose rows fit `height`, rows as even as they can be.
function mapGrid(layer, cell, height) {
  const mapHeight = (cell * layer.h) / layer.w, gap = cell / layer.w;
  // No more rows than maps: a room of unbounded height (planColumns' last resort) stays finite.
  const rowsMax = Math.min(layer.maps, Math.floor((height + gap) / (mapHeight + gap)));
  if (rowsMax < 1) return null;
  let columns = Math.ceil(layer.maps / rowsMax);
  const rows = Math.ceil(layer.maps / columns);
  columns = Math.ceil(layer.maps / rows);
  return { columns, rows, cell, width: columns * (cell + gap) - gap, height: rows * (mapHeight + gap) - gap };
}

function denseGrid(layer, unit, height) {
  if (layer.labelled) unit = Math.max(unit, MIN_LABELLED_UNIT);
  const rowsMax = Math.min(layer.units, Math.floor(height / unit));
  if (rowsMax < 1 || (layer.labelled && rowsMax < layer.units)) return null;
  const { cols, rows } = unitGrid(layer.units, rowsMax, layer.labelled);
  return { columns: cols, rows, cell: unit, width: cols * unit + (layer.labelled ? LABEL_WIDTH : 0), height: rows * unit };
}

// Each layer's grid at base size `s` in the "columns" arrangement, or null when one does not
// fit. `starts`: the layers that begin a band (the first always does); every band is a row of
// columns as wide as the room, `room.height` tall.
function columnsAt(layers, s, room, gap, starts = [0]) {
  const largest = Math.max(...layers.filter((l) => !l.dense).map((l) => l.h), 1);
  const plan = [];
  let width = 0;
  for (const [i, layer] of layers.entries()) {
    if (starts.includes(i)) width = -gap;
    const height = room.height - (layer.head.beside ? 0 : layer.head.height);
    const grid = layer.dense ? denseGrid(layer, Math.max(MIN_UNIT, s * DENSE_FRACTION), height) : mapGrid(layer, cellWidth(layer, s, largest), height);
    if (!grid) return null;
    grid.columnWidth = layer.head.beside ? grid.width + layer.head.width : Math.max(grid.width, layer.head.width);
    width += grid.columnWidth + gap;
    if (width > room.width) return null;
    grid.bandStart = starts.includes(i);
    plan.push(grid);
  }
  plan.size = s;
  return plan;
}

// The largest base size at which `layers` fit, split into bands at `starts`, or null.
function largest(layers, room, gap, starts, least, most) {
  let lo = least, hi = most, best = columnsAt(layers, least, room, gap, starts);
  if (!best) return null;
  for (let i = 0; i < SEARCH_STEPS; i++) {
    const s = (lo + hi) / 2, plan = columnsAt(layers, s, room, gap, starts);
    if (plan) [lo, best] = [s, plan];
    else hi = s;
  }
  return best;
}

// Every way to cut n layers into `bands` runs, in order: the runs' first indices.
function* splits(n, bands, from = 1) {
  if (bands === 1) return yield [0];
  for (let cut = from; cut <= n - bands + 1; cut++) for (const rest of splits(n - cut, bands - 1)) yield [0, ...rest.slice(1).map((i) => i + cut), cut].sort((a, b) => a - b);
}

// The largest plan that fits `room` ({ width, height }, css px), `gap` px between columns and
// between bands; maps at most `most` px wide. One band (a single row of columns, read left
// to right) unless more bands (read like lines of text) make the maps clearly larger. When
// nothing fits, the smallest plan (the view scrolls).
export function planColumns(layers, room, { gap = 8, least = 4, most = 160 } = {}) {
  let best = null;
  for (let bands = 1; bands <= Math.min(MAX_BANDS, layers.length); bands++) {
    const band = { width: room.width, height: (room.height - (bands - 1) * gap) / bands };
    for (const starts of splits(layers.length, bands)) {
      // Only a plan clearly larger than the best so far counts: search above that.
      const floor = best ? best.size * MORE_BANDS_GAIN : least;
      const plan = floor < most ? largest(layers, band, gap, starts, floor, most) : null;
      if (plan) best = plan;
    }
  }
  return best || columnsAt(layers, least, { width: Infinity, height: room.height }, gap) || columnsAt(layers, least, { width: Infinity, height: Infinity }, gap);
}

// The "rows" arrangement: each layer as wide as the room, maps of base size `s` wrapping.
export function planRows(layers, width, s) {
  const largest = Math.max(...layers.filter((l) => !l.dense).map((l) => l.h), 1);
  return layers.map((layer) => {
    if (layer.dense) {
      const unit = Math.max(layer.labelled ? MIN_LABELLED_UNIT : 8, s * DENSE_FRACTION);
      const perRow = Math.max(1, Math.floor((width - (layer.labelled ? LABEL_WIDTH : 0)) / unit));
      const { cols, rows } = layer.labelled ? unitGrid(layer.units, Infinity, true) : transpose(unitGrid(layer.units, perRow, false));
      return { columns: cols, rows, cell: unit, width: cols * unit + (layer.labelled ? LABEL_WIDTH : 0), height: rows * unit };
    }
    const cell = cellWidth(layer, s, largest), gap = cell / layer.w;
    let columns = Math.max(1, Math.min(layer.maps, Math.floor((width + gap) / (cell + gap))));
    const rows = Math.ceil(layer.maps / columns);
    columns = Math.ceil(layer.maps / rows);
    return { columns, rows, cell, width: columns * (cell + gap) - gap, height: rows * ((cell * layer.h) / layer.w + gap) - gap };
  });
}

// Wide rather than tall: `perRow` squares a row at most.
const transpose = ({ cols, rows }) => ({ cols: rows, rows: cols });
