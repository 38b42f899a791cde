// "Teach it our handwriting" on the teacher's page: starts fine-tuning the class's model on
// the class's drawings and shows, live, the held-back drawings' accuracy and confusion
// matrix before and after; then the class can switch to the new model, or back.
const $ = (selector) => document.querySelector(selector);

export function classTraining(socket) {
  const panel = $("#class-training");
  if (!panel) return;
  const job = { id: null, model: null, perEpoch: 1 };
  socket.on("connect", () => socket.emit("train_watch", {}));
  if (socket.connected) socket.emit("train_watch", {});
  socket.on("class_state", ({ model }) => showModel(model));
  socket.on("class_model", ({ model }) => showModel(model));
  socket.on("training_state", ({ job: snapshot }) => {
    if (!snapshot || snapshot.kind !== "finetune") return;
    job.id = snapshot.id;
    for (const kind of ["queued", "started", "before", "after"]) if (snapshot.latest[kind]) handle(snapshot.latest[kind]);
    const last = snapshot.points[snapshot.points.length - 1];
    if (last) handle(last);
    if (snapshot.latest[snapshot.state]) handle(snapshot.latest[snapshot.state]);
  });
  socket.on("training", (event) => {
    if (event.type === "queued") job.id = event.kind === "finetune" ? event.job : null;
    if (event.job === job.id) handle(event);
  });
  $("#teach-start").addEventListener("click", () => socket.emit("class_finetune", {}));
  $("#teach-use").addEventListener("click", () => socket.emit("class_use_model", { model: job.model }));
  $("#teach-default").addEventListener("click", () => socket.emit("class_use_model", { model: null }));

  const status = (text) => ($("#teach-status").textContent = text);
  const handlers = {
    queued() {
      panel.dataset.state = "starting";
      $("#teach-start").disabled = true;
      $("#teach-choice").hidden = true;
      $("#teach-progress").value = 0;
      job.held = null;
      for (const side of ["before", "after"]) {
        $(`#teach-${side}`).textContent = "–";
        $(`#teach-${side}-matrix`).replaceChildren();
      }
      status("Starting: loading TensorFlow…");
    },
    started: () => status("Learning the class's handwriting…"),
    before: (e) => result("before", e),
    progress(e) {
      $("#teach-progress").value = e.step / e.total_steps;
      status(`Epoch ${e.epoch}: step ${e.step} of ${e.total_steps}, about ${Math.ceil(e.eta)} s left${job.held ? ` · ${job.held}` : ""}`);
    },
    // The held-back drawings are the job's validation data: their accuracy after each epoch, live.
    epoch(e) {
      job.held = `${Math.round(100 * e.val_accuracy)}% of the held-back drawings read right after epoch ${e.epoch}`;
      status(job.held);
    },
    after: (e) => result("after", e),
    done(e) {
      job.model = e.model;
      panel.dataset.state = "done";
      $("#teach-progress").value = 1;
      $("#teach-start").disabled = false;
      $("#teach-choice").hidden = false;
      status(`Done: the new model is “${e.model}”.`);
    },
    failed: (e) => ended(e.error),
    diverged: (e) => ended(e.error),
    stopped: (e) => ended(e.error),
  };
  const handle = (event) => handlers[event.type]?.(event);

  function ended(error) {
    panel.dataset.state = "ended";
    $("#teach-start").disabled = false;
    status(error || "Ended.");
  }

  function result(side, { accuracy, count, confusion }) {
    $(`#teach-${side}`).textContent = `${Math.round(100 * accuracy)}% of ${count} held-back drawings`;
    $(`#teach-${side}`).dataset.accuracy = accuracy;
    $(`#teach-${side}-matrix`).replaceChildren(matrixTable(confusion));
  }

  function showModel(model) {
    if (model) $("#class-model").textContent = model;
  }
}

// A compact 10x10 table: rows the digit meant, columns the digit read; shade by row share.
function matrixTable(confusion) {
  const table = document.createElement("table");
  table.className = "mini-confusion";
  table.innerHTML = `<caption>Meant (rows) × read as (columns)</caption>`;
  const body = table.createTBody();
  confusion.forEach((row, i) => {
    const tr = body.insertRow();
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((n, j) => {
      const cell = tr.insertCell();
      cell.textContent = n || "";
      cell.classList.toggle("hit", i === j && n > 0);
      cell.classList.toggle("miss", i !== j && n > 0);
      cell.style.setProperty("--share", total ? (n / total).toFixed(3) : 0);
    });
  });
  return table;
}
