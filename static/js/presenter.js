// Presenter mode: the network view fills the screen with larger type, for the back of a
// room; the chrome around it (top bar, hints, view buttons) steps aside and the pad and the
// prediction share one narrow column (app.css). The maps grow by themselves: their sizes
// follow the room the view has (fit.js).
export function setPresenting(on, button = document.querySelector("#present")) {
  document.body.classList.toggle("presenting", on);
  button?.setAttribute("aria-pressed", on);
}

export const togglePresenting = () => setPresenting(!document.body.classList.contains("presenting"));
