// Text that a frame rewrites, written only when it changes (even the same text costs the
// page a layout) and into the element's own text node: replacing the node (textContent)
// would also restyle it and lay it out as new.
export function setText(element, text) {
  const node = element.firstChild;
  if (node && node === element.lastChild && node.nodeType === Node.TEXT_NODE) {
    if (node.data !== text) node.data = text;
  } else if (element.textContent !== text) {
    element.textContent = text;
  }
}
