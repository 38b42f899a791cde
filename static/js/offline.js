// Says so on the drawing area while the server cannot be reached (connection.js's states),
// and goes when it is back: a prediction that stops following the pen is otherwise a puzzle.
export function showConnection(pad, state) {
  const overlay = pad.closest(".pad")?.querySelector(".pad-offline");
  if (!overlay) return;
  const offline = state !== "connected" && state !== "connecting…";
  if (overlay.hidden === !offline) return;
  overlay.hidden = !offline;
  pad.closest(".pad").classList.toggle("is-offline", offline);
}
