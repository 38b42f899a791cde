"""The page's scripts, styles and pictures, under an address that names their version.

The modules import each other as "./x.js", so the whole folder has one version, a digest
of its contents: a page and every module it, or its paint worker, imports then come from
one release, and a browser may keep them for good. A returning student's page needs no
request for them, nor does the paint worker when it imports the modules the page preloaded
(each was a revalidation, three in a row, before its Socket.IO link could open). Each
file is read once per process and compressed once, not on each request. A file asked for
under another version (a page opened before an update) or under none (`/static/js/app.js`)
is served from disk and revalidated each time, as before.
"""
import hashlib
import mimetypes
import posixpath
import re
import threading
import time
from pathlib import Path

from flask import abort, send_from_directory

from .compression import MIMETYPES, Precompressed
from .published import named_response

# Brotli 5: all of the folder's text in ~20 ms, once; 11 saves 8% of its bytes for ~600 ms,
# which the first visitor after a start would wait for.
QUALITY = 5
CHECK_EVERY_S = 1.0  # how often the folder is looked at again: an edit shows on the next page
# What a module loads: its static imports and re-exports (at the start of a line, as our
# modules write them, so a comment quoting one does not count) and the workers it starts.
LOADS = re.compile(r'^(?:import|export)\b[^;]*?\bfrom\s+"(\.\.?/[^"]+\.js)"|new Worker\(new URL\("(\.\.?/[^"]+\.js)"', re.M)


class StaticFiles:
    """Every file of `folder`, read once (a versioned request reads no file). `watch`: look at
    the folder again at most once a second, for a developer editing it (Flask's debug mode)."""

    def __init__(self, folder: Path, watch=False):
        self.folder = Path(folder)
        self.watch = watch
        self.lock = threading.Lock()
        self.checked = time.monotonic()
        self.signature = None
        self.load()

    def load(self):
        files = sorted(p for p in self.folder.rglob("*") if p.is_file())
        signature = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        if signature == self.signature:
            return
        digest, bodies = hashlib.sha256(), {}
        for path in files:
            name, data = path.relative_to(self.folder).as_posix(), path.read_bytes()
            digest.update(name.encode() + b"\0" + data + b"\0")
            mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"  # as Flask guesses
            # Compressed where it helps (not a PNG), once per encoding, when first asked for.
            bodies[name] = (Precompressed(data, QUALITY) if mimetype in MIMETYPES else Uncompressed(data), mimetype)
        # The digest of the files' names and contents: the same on every machine that has them.
        self.signature, self.version, self.bodies = signature, digest.hexdigest()[:16], bodies
        self.graphs = {}

    def current(self) -> str:
        """The folder's version."""
        if self.watch and time.monotonic() - self.checked >= CHECK_EVERY_S:
            with self.lock:
                self.checked = time.monotonic()
                self.load()
        return self.version

    def modules(self, entry):
        """Every module that `entry` ("js/app.js") loads, itself included, and what they
        load, its paint worker's too: what a page preloads, so that the browser asks for
        all of them at once instead of one import level at a time."""
        if entry not in self.graphs:
            found, todo = [], [entry]
            while todo:
                module = todo.pop(0)
                if module in found or module not in self.bodies:
                    continue
                found.append(module)
                source = self.bodies[module][0].encoded(None).decode()
                for match in LOADS.finditer(source):
                    todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(module), match[1] or match[2])))
            self.graphs[entry] = found
        return self.graphs[entry]

    def serve(self, version, filename):
        if version != self.current():
            return self.plain(filename)
        if filename not in self.bodies:
            abort(404)
        body, mimetype = self.bodies[filename]
        # The address names the content: the folder's version is every file's validator.
        return named_response(body, version, mimetype, immutable=True)

    def plain(self, filename):
        return send_from_directory(self.folder, filename)


class Uncompressed:
    def __init__(self, data):
        self.data = data

    def for_request(self):
        return None, self.data

    def encoded(self, encoding):
        return self.data


def init_app(app, folder):
    """Serves `folder` at /static/<version>/<file> (url_for("static", filename=...) gives
    that address) and at /static/<file>."""
    files = StaticFiles(folder, watch=app.debug)
    app.extensions["static_files"] = files
    # The version is 16 hex digits: /static/js/app.js is not a versioned address.
    app.add_url_rule("/static/<string(length=16):version>/<path:filename>", "static", files.serve)
    app.add_url_rule("/static/<path:filename>", "static_plain", files.plain)
    app.add_template_global(files.modules, "static_modules")

    @app.url_defaults
    def versioned(endpoint, values):
        if endpoint == "static":
            values.setdefault("version", files.current())
