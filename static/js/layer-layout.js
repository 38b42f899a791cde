// Every layer's grid, planned together from the layers' shapes and the room the view has
// (fit.js): side by side, each a column as tall as the view ("columns": the network view), or
// one under another, as wide as it ("rows": a phone), as the page's CSS says (--layers-flow).
import { planColumns, planRows } from "./fit.js";

// `root`: the layers' view; `sections`: activations.js's, in order; `probe`: an element as wide
// as --map-size. Returns { plan: a grid per section (fit.js), columns: whether side by side },
// headings turned on their side (`heads-beside`) where that leaves the maps larger.
export function planSections(root, sections, probe) {
  const style = getComputedStyle(root);
  const columns = style.getPropertyValue("--layers-flow").trim() !== "rows";
  // A pixel to spare: clientWidth is rounded, and a band a fraction too wide wraps.
  const room = { width: root.clientWidth - 1, height: root.clientHeight - 1 };
  root.classList.remove("heads-beside");
  if (!columns || room.width <= 0) {
    return { plan: planRows(shapes(sections, false), room.width || 600, probe.getBoundingClientRect().width || 40), columns: false };
  }
  // Headings above their maps, or turned on their side beside them when a row of many
  // narrow columns has no room for their names: whichever leaves the maps larger.
  const gap = parseFloat(style.columnGap) || 0;
  const above = planColumns(shapes(sections, false), room, { gap });
  const beside = planColumns(shapes(sections, true), room, { gap });
  const plan = (beside.size || 0) > (above.size || 0) * 1.15 ? beside : above;
  root.classList.toggle("heads-beside", plan === beside);
  return { plan, columns };
}

// A line break before each section that starts a new band of the plan.
export function breakBands(root, sections, plan) {
  for (const old of root.querySelectorAll(":scope > .band-break")) old.remove();
  sections.forEach((section, i) => {
    if (i > 0 && plan[i].bandStart) section.el.before(Object.assign(document.createElement("div"), { className: "band-break" }));
  });
}

// The layers' shapes for fit.js, with their headings' boxes (measured written across).
function shapes(sections, beside) {
  return sections.map((s) => {
    const box = s.head.getBoundingClientRect(), gap = parseFloat(getComputedStyle(s.el).gap) || 0;
    return {
      maps: s.maps, w: s.mapW, h: s.mapH, dense: s.dense, units: s.units, labelled: Boolean(s.labels),
      head: beside ? { width: box.height + gap, height: 0, beside } : { width: s.head.scrollWidth, height: box.height + gap },
    };
  });
}
