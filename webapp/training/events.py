"""Training's Socket.IO events. Who may do what: anyone on the server may train from the
training page unless ALLOW_TRAINING is off; a student in a class may not; a class's
fine-tuning is its teacher's alone. Every refusal is a BadMessage, answered to that client."""
from flask import request
from flask_socketio import join_room

from model.preprocess import PreprocessError, strokes_to_input

from ..classroom.live import Member, class_room, teacher_room
from ..events import BadMessage, Gate, parse_canvas_size
from ..models import UnknownModel, get_models
from .jobs import ROOM, get_trainer
from .settings import ARCHITECTURES, FINETUNE, PRESETS, finetune_settings, training_settings


def allowed(config) -> bool:
    """ALLOW_TRAINING, also when it came from the environment as text ("off", "0")."""
    value = config["ALLOW_TRAINING"]
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def register(socketio, app, classroom, gate: Gate):
    trainer, models, roster, store = get_trainer(app), get_models(app), classroom.roster, classroom.store

    def may_train() -> Member:
        """The sender's class membership (None on the training page), if it may train."""
        if not allowed(app.config):
            raise BadMessage("training is turned off on this server")
        me = roster.member(request.sid)
        if me is not None and me.role == "student":
            raise BadMessage("students cannot train the network: only the class's teacher can")
        return me

    def may_control():
        """The running job is this sender's to pause, resume or stop."""
        me = may_train()
        job = trainer.job
        if job is not None and job.klass is not None and (me is None or me.role != "teacher" or me.klass.id != job.klass):
            raise BadMessage("this job is fine-tuning a class's model: only that class's teacher can control it")

    @socketio.on("train_watch")
    def on_watch(message=None):
        gate.throttle(request.sid)
        join_room(ROOM)
        socketio.emit("training_state", {
            "allowed": allowed(app.config), "job": trainer.snapshot(), "presets": PRESETS,
            "architectures": ARCHITECTURES, "finetune": FINETUNE,
        }, to=request.sid)

    @socketio.on("train_start")
    def on_start(message):
        gate.check(message, ("preset", "epochs", "batch_size", "learning_rate"))
        if may_train() is not None:
            raise BadMessage("a class fine-tunes its own model: use 'Teach it our handwriting'")
        trainer.start("scratch", training_settings(message))

    for command in ("pause", "resume", "stop"):
        def on_command(message=None, command=command):
            gate.throttle(request.sid)
            may_control()
            trainer.command(command)

        socketio.on(f"train_{command}")(on_command)

    @socketio.on("train_probe")
    def on_probe(message):
        """The user's own drawing becomes the digit the job shows its prediction for."""
        gate.check(message, ("strokes", "width", "height"))
        may_control()
        parse_canvas_size(message)
        try:
            image = strokes_to_input(message.get("strokes"))
        except PreprocessError as error:
            raise BadMessage(str(error)) from None
        trainer.command("probe", image=image.astype("float32").ravel().tolist())

    @socketio.on("class_finetune")
    def on_finetune(message=None):
        """Teach it our handwriting: the class's model, fine-tuned on the class's drawings."""
        gate.throttle(request.sid)
        me = teacher(may_train())
        images, records = store.export(me.klass)
        labels = [record["intended"] for record in records]
        settings = finetune_settings(message, len(labels))
        base = models.get(classroom.model_of(me.klass))
        if tuple(base.description.input_shape) != (28, 28, 1):  # the drawings are kept as 28x28 grey pictures
            raise BadMessage(f"the class's model {base.name!r} does not read 28x28 grey pictures: it cannot learn from the class's drawings")
        trainer.start("finetune", {**settings, "base": base.name}, rooms=(ROOM, teacher_room(me.klass.id)), klass=me.klass.id,
                      images=images, labels=labels, base=str(base.path), source=f"class {me.klass.code}")

    @socketio.on("class_use_model")
    def on_use_model(message):
        """The class reads its drawings with this model from now on (None: the server's default)."""
        gate.check(message, ("model",))
        me = teacher(roster.member(request.sid))
        name = message.get("model")
        try:
            model = models.get(name)
        except UnknownModel as unknown:
            raise BadMessage(str(unknown)) from None
        classroom.use_model(me.klass, None if name is None else model.name)
        socketio.emit("class_model", {"model": model.name, "default": name is None}, to=class_room(me.klass.id))

    def teacher(me) -> Member:
        if me is None or me.role != "teacher":
            raise BadMessage("only the class's teacher can do that")
        klass = store.find_class(me.klass.code)
        if klass is None:
            raise BadMessage("this class has ended")
        return Member(klass, me.role, me.student)
