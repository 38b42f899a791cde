// The teacher's live gallery: every submission as a card, newest first, filterable by a
// cell of the confusion matrix; picking a card spotlights it. Names as `names` shows them
// (real, or "Student 7" in anonymous mode).
import { mark, thumbnail, UNLIKE } from "./submissions.js";

export class Gallery {
  constructor(list, emptyNote, names, onPick) {
    this.list = list;
    this.emptyNote = emptyNote;
    this.names = names;
    this.onPick = onPick;
    this.only = null; // { intended, predicted } or null for all
  }

  reset(submissions) {
    this.names.reset(submissions);
    // Built off the page and put in at once: a class of hundreds opens in one layout.
    const items = submissions.map((s) => this.item(s)).reverse();
    this.list.replaceChildren(...items);
    this.refresh();
  }

  add(s) {
    this.names.seat(s);
    this.list.prepend(this.item(s));
    this.refresh();
  }

  item(s) {
    const item = document.createElement("li");
    const card = document.createElement("button");
    card.type = "button";
    card.className = `card ${s.correct ? "right" : "wrong"}`;
    Object.assign(card.dataset, { id: s.id, intended: s.intended, predicted: s.predicted });
    const name = document.createElement("span");
    name.className = "name";
    const result = document.createElement("span");
    result.className = "verdict";
    result.textContent = `${s.intended} → ${s.predicted} ${mark(s)}`;
    const thumb = thumbnail(s.thumbnail, "");
    thumb.setAttribute("aria-hidden", "true"); // the card's name says whose digit it is
    // The space keeps the name and the verdict two words for assistive software (flex hides it).
    card.append(thumb, name, " ", result);
    if (s.unlike) card.append(" ", unlikeBadge());
    card.addEventListener("click", () => this.onPick(s.id));
    item.submission = s;
    item.append(card);
    this.label(item);
    this.show(item);
    return item;
  }

  // The student's name (or number) on a card, and in its accessible name.
  label(item) {
    const s = item.submission, card = item.firstChild;
    const name = this.names.of(s);
    card.querySelector(".name").textContent = name; // text, never markup: names are typed by students
    const verdict = card.querySelector(".verdict").textContent;
    const badge = s.unlike ? ` ${UNLIKE}` : "";
    // The name starts with the card's visible text, so a speech user can say what they see.
    const said = `meant ${s.intended}, read as ${s.predicted}, ${s.correct ? "right" : "wrong"}${s.unlike ? ", unlike the digits the network learned from" : ""}`;
    card.setAttribute("aria-label", `${name}: ${verdict}${badge} (${said}). Show it big`);
  }

  // Names shown or hidden: every card again.
  relabel() {
    for (const item of this.list.children) this.label(item);
  }

  filter(only) {
    this.only = only;
    for (const item of this.list.children) this.show(item);
    this.refresh();
  }

  show(item) {
    const { intended, predicted } = item.firstChild.dataset;
    item.hidden = this.only !== null && (Number(intended) !== this.only.intended || Number(predicted) !== this.only.predicted);
  }

  refresh() {
    this.emptyNote.hidden = this.list.children.length > 0;
  }
}

// The card's mark for a drawing unlike the training digits: text, not a colour alone.
function unlikeBadge() {
  const badge = document.createElement("span");
  badge.className = "unlike-badge";
  badge.textContent = UNLIKE;
  return badge;
}
