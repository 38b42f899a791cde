// One layer's section of the layers' view: its heading, its maps' canvas (one tab stop, named
// by the focused map's description: activations.js), the focus box, the filters' overlay of a
// conv layer and, for the network's output, each unit's class and probability beside it.
import { FilterOverlay } from "./filters.js";

function layerLabel(layer) {
  return layer.height === 1
    ? `${layer.name} · ${layer.width} units`
    : `${layer.name} · ${layer.maps} maps · ${layer.height}×${layer.width}`;
}

// `kernels`: the layer's filters (a conv layer's, else none); `help`: the element that says how
// the keyboard moves over the maps; `classes`: the output's labels, given for the output alone.
export function buildSection(layer, { kernels = null, help, classes = null }) {
  const el = document.createElement("section");
  const dense = layer.height === 1;
  el.className = dense ? "layer layer-dense" : "layer";
  el.id = `layer-${layer.name}`;
  el.dataset.layer = layer.name;
  el.innerHTML = `<h3><span class="layer-name"></span></h3><div class="maps"><canvas class="layer-maps"></canvas><div class="map-focus"></div></div>`;
  const name = el.querySelector(".layer-name");
  name.textContent = layer.name;
  // The shape: read out, and shown where the view has room for it (app.css).
  name.append(Object.assign(document.createElement("span"), { className: "layer-shape", textContent: layerLabel(layer).slice(layer.name.length) }));
  el.querySelector("h3").title = layerLabel(layer);
  const grid = el.querySelector(".maps");
  const overlay = kernels && !dense ? new FilterOverlay(layer.name, kernels, layer.width, layer.height) : null;
  if (overlay) grid.append(overlay.el);
  const canvas = el.querySelector("canvas.layer-maps");
  canvas.tabIndex = 0;
  canvas.setAttribute("role", "button");
  canvas.setAttribute("aria-describedby", help.id);
  canvas.dataset.maps = dense ? 1 : layer.maps;
  const section = {
    el, grid, canvas, head: el.querySelector("h3"), box: el.querySelector(".map-focus"),
    kernels: overlay, name: layer.name, dense, mapW: layer.width, mapH: layer.height, units: dense ? layer.width : 0,
    w: layer.width, h: layer.height, maps: layer.maps, columns: 0, focus: 0,
    texts: new Array(layer.maps).fill(null), described: null, width: 0, height: 0, adopted: false, labels: null,
  };
  if (classes && dense && classes.length === layer.width) addLabels(section, classes);
  return section;
}

// A label for each unit of the output, beside it: its class and its probability.
function addLabels(section, classes) {
  section.labelList = document.createElement("ol");
  section.labelList.className = "unit-labels";
  section.labelList.setAttribute("aria-label", `${section.name}: each digit's probability`);
  section.labels = classes.map((c) => {
    const item = document.createElement("li");
    item.dataset.class = c;
    item.innerHTML = `<span class="unit-class"></span> <span class="unit-value"></span>`;
    item.firstElementChild.textContent = c;
    section.labelList.append(item);
    return { item, value: item.lastElementChild };
  });
  section.grid.append(section.labelList);
  section.el.classList.add("layer-labelled");
}
