"""Settings with defaults; each can be overridden from the environment as CNNVIEW_<NAME>."""
from pathlib import Path

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "model" / "mnist_cnn.keras"

DEFAULTS = {
    # The model shown when MODELS is not set; the default one: the three shipped models
    # (webapp/models.py). MODELS: a folder of .keras files, or paths joined by ",".
    "MODEL_PATH": str(DEFAULT_MODEL_PATH),
    "MODELS": None,
    "WORKER_TIMEOUT": 2.0,  # seconds a frame batch may take before its worker is replaced
    "PICTURE_TIMEOUT": 10.0,  # the same for a picture
    "PICTURE_QUEUE": 4,  # pictures waiting at most
    "HOST": "127.0.0.1",
    "PORT": 5000,
    # Socket.IO origins: None means same origin only; a list, or "*" for any.
    "CORS_ALLOWED_ORIGINS": None,
    "MAX_MESSAGE_BYTES": 1_000_000,  # a Socket.IO message; larger gets an error event
    "MAX_TRANSPORT_BYTES": 16_000_000,  # beyond this the transport itself hangs up
    "MAX_CONTENT_LENGTH": 10_000_000,  # HTTP uploads (photos straight off a phone)
    "MAX_ATTACHMENTS": 2,  # binary parts in one message: a picture has one
    "MESSAGES_PER_SECOND": 200,  # per client, averaged; a pen sends at most one per display frame
    "MESSAGE_BURST": 400,
    # Flow control: frames sent to a client and not yet acknowledged; while that many are
    # out, only the newest waits. None: no limit (for the in-process test client, which
    # cannot acknowledge).
    "FRAME_WINDOW": 2,
    "STALL_SECONDS": 15,  # a client that sends while its window stays full this long is dropped
    # Engine.IO heartbeat: a peer that misses a pong for PING_INTERVAL + PING_TIMEOUT seconds
    # is closed, its socket included.
    "PING_INTERVAL": 25,
    "PING_TIMEOUT": 20,
    # Drawings from different clients answered by one pass of the network. Small batches
    # keep the round trip short under load (measured: at 200 clients p99 ~40 ms with 12,
    # ~50 with 16, ~100 with 64 or with 4); see bench/RESULTS.md.
    "MAX_BATCH": 12,
    # Classroom mode
    "CLASSROOM_DB": None,  # the SQLite file; None: instance/classroom.sqlite3
    # Several processes or machines (README, "Several processes and machines"): PostgreSQL
    # instead of the SQLite file ("postgresql://user:password@host/db"), and Redis as
    # Socket.IO's message queue and the home of the live state ("redis://host:6379/0").
    "DATABASE_URL": None,
    "MESSAGE_QUEUE": None,
    # Proxies in front of the app (nginx: 1) whose X-Forwarded-For and -Proto are believed:
    # the wrong-code limiter must count the client's address, not the proxy's.
    "TRUSTED_PROXIES": 0,
    "PUBLIC_URL": None,  # how students reach this server (for the join link and QR code); None: as the teacher did
    "MAX_NAME_LENGTH": 40,
    "MAX_STUDENTS_PER_CLASS": 300,
    "MAX_SUBMISSIONS_PER_STUDENT": 200,
    "WRONG_CODES_PER_MINUTE": 10,  # per network address; right codes always get in
    # Training (webapp/training): who may start a job (False on a public server: nobody),
    # where results go (None: instance/trained), and how little of the machine a job takes.
    "ALLOW_TRAINING": True,
    "TRAINING_DIR": None,
    "TRAINING_THREADS": 1,
    "TRAINING_NICENESS": 10,
}


def load_config(app, test_config=None, overrides=None):
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env("CNNVIEW")
    else:
        app.config.from_mapping(test_config)
    app.config.from_mapping(overrides or {})
    for name, kind in (("WORKER_TIMEOUT", float), ("PICTURE_TIMEOUT", float), ("PICTURE_QUEUE", int), ("TRAINING_THREADS", int), ("TRAINING_NICENESS", int)):
        app.config[name] = kind(app.config[name])  # from the environment they come as text
