"""A first visit fits in 150 KB on the wire (issue 11): pages, scripts, styles and JSON are
compressed, and the network's data is a JSON file the browser keeps, not inline."""
import gzip
import io
import json
import re
import zipfile
from pathlib import Path

import brotli
import numpy as np
import pytest

from bench.first_load import is_text, measure, page_urls, summary
from bench.load import start_server, stop
from model.network import DEFAULT_MODEL_PATH
from model.top_patches import load as load_top_patches
from tests.classroom import start_class
from webapp.static_files import StaticFiles

STATIC = Path(__file__).parent.parent / "static"

BUDGET = 150_000  # bytes on the wire for a first visit
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium sends


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """README's production command: gunicorn with gevent."""
    process, url = start_server(database=tmp_path_factory.mktemp("first-load") / "classroom.sqlite3")
    yield url
    stop(process)


def test_each_page_loads_in_150_kb_compressed_and_then_from_cache(browser, production):
    results = measure(browser, production)
    assert [r["page"] for r in results] == ["main", "student", "teacher"]
    for result in results:
        page, first, second = result["page"], result["first"], result["second"]
        totals = summary(first)
        assert totals["wire"] <= BUDGET, (page, totals)
        texts = [r for r in first if is_text(r["mime"])]
        assert texts and all(r["status"] == 200 for r in first), (page, [(r["url"], r["status"]) for r in first])
        assert [r["url"] for r in texts if r["encoding"] not in ("br", "gzip")] == [], page
        network = [r for r in first if "/network/" in r["url"]]
        assert len(network) == 1 and network[0]["mime"] == "application/json", page
        assert "immutable" in network[0]["cache_control"]
        assert not any("top-patches" in r["url"] for r in first), "top patches wait for the inspector"

        # Again, in the same browser: the JSON and the static files (their address names
        # their version) come from its cache, not even revalidated; only the page is sent again.
        again = {re.sub(r"^https?://[^/]+", "", r["url"]): r for r in second}
        (json_again,) = [r for path, r in again.items() if path.startswith("/network/")]
        assert json_again["from_cache"] or json_again["status"] == 304, json_again
        # (Chromium fetches the favicon by rules of its own: it may report it as a 200.)
        static = [r for path, r in again.items() if path.startswith("/static/") and not path.endswith("favicon.svg")]
        assert static and all(r["from_cache"] for r in static), (page, [r["url"] for r in static if not r["from_cache"]])
        assert summary(second)["wire"] < totals["wire"] / 3, page
        # The inspector's top patches, fetched later, are compressed too.
        (top,) = result["top_patches"]
        assert top["encoding"] == "br" and top["wire"] < 15_000


# Every script a page loaded, and whether the page preloads it (or found it importing
# another: a round trip later).
SCRIPTS = """() => {
  const preloaded = new Set([...document.querySelectorAll('link[rel=modulepreload]')].map((l) => l.href));
  return performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js'))
    .map((e) => [new URL(e.name).pathname.replace(/^\\/static\\/[0-9a-f]{16}\\//, ''), preloaded.has(e.name)]);
}"""


def test_every_page_asks_for_all_its_modules_at_once(browser, production):
    """The server follows the modules' imports from each page's entry (static_files.py) and
    the page preloads them all: none is found one import level later."""
    pages = page_urls(browser, production) + [(name, browser.new_context(), production + path) for name, path in (("compare", "/compare"), ("train", "/train"))]
    for name, context, address in pages:
        page = context.new_page()
        page.goto(address)
        page.wait_for_load_state("networkidle")
        scripts = page.evaluate(SCRIPTS)
        assert len(scripts) > 5 and all(preloaded for _, preloaded in scripts), (name, [path for path, preloaded in scripts if not preloaded])
        paths = {path for path, _ in scripts}
        if name != "train":  # the drawing pages' paint worker and its Socket.IO link
            assert {"js/paint-worker.js", "js/stream.js", "vendor/socket.io/socket.io.esm.min.js"} <= paths, name
        context.close()


def test_the_module_graph_follows_imports_and_workers(tmp_path):
    folder = tmp_path / "static"
    (folder / "js").mkdir(parents=True)
    (folder / "vendor").mkdir()
    (folder / "js" / "main.js").write_text('// import { x } from "./nothing.js";\nimport { a } from "./a.js";\nexport {\n  b,\n} from "./b.js";\n')
    (folder / "js" / "a.js").write_text('const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });\n')
    (folder / "js" / "b.js").write_text('import { a } from "./a.js";\n')
    (folder / "js" / "worker.js").write_text('import { io } from "../vendor/io.js";\n')
    (folder / "vendor" / "io.js").write_text("export const io = 1;\n")
    assert StaticFiles(folder).modules("js/main.js") == ["js/main.js", "js/a.js", "js/b.js", "js/worker.js", "vendor/io.js"]


def body(response):
    encoding = response.headers.get("Content-Encoding")
    data = response.get_data()
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda d: d}[encoding](data)


@pytest.fixture
def page_links(client):
    html = body(client.get("/", headers=BROWSER)).decode()
    network = re.search(r'<link rel="preload" id="network-data" href="([^"]+)"', html).group(1)
    top = re.search(r'data-top-patches="([^"]+)"', html).group(1)
    return html, network, top


def test_pages_scripts_styles_and_svg_are_compressed(client, page_links):
    html, network, _ = page_links
    assert '<script type="application/json"' not in html  # no inline data any more
    assert len(html) < 20_000
    for path in ("/", "/static/js/app.js", "/static/css/app.css", "/static/vendor/socket.io/socket.io.esm.min.js", "/static/favicon.svg", network):
        for accept, expected in ((BROWSER["Accept-Encoding"], "br"), ("gzip", "gzip"), ("", None)):
            response = client.get(path, headers={"Accept-Encoding": accept})
            assert response.status_code == 200, path
            assert response.headers.get("Content-Encoding") == expected, (path, accept)
            assert "Accept-Encoding" in response.headers["Vary"]
    code = start_class(client)
    for path in (f"/class/{code}/teach", f"/class/{code}/qr.svg"):
        assert client.get(path, headers=BROWSER).headers.get("Content-Encoding") == "br", path


def test_static_files_keep_their_validators(client):
    first = client.get("/static/js/app.js", headers=BROWSER)
    assert first.headers["Content-Encoding"] == "br" and first.headers["Cache-Control"] == "no-cache"
    assert first.headers["ETag"].endswith(':br"') and first.headers["Last-Modified"]
    with open(STATIC / "js/app.js", "rb") as f:
        assert body(first) == f.read()
    for validator in ({"If-None-Match": first.headers["ETag"]}, {"If-Modified-Since": first.headers["Last-Modified"]}):
        again = client.get("/static/js/app.js", headers={**BROWSER, **validator})
        assert again.status_code == 304 and again.get_data() == b"", validator
    assert "Accept-Ranges" not in first.headers  # ranges would be of the uncompressed file
    with open(STATIC / "js/app.js", "rb") as f:
        raw = f.read()
    part = client.get("/static/js/app.js", headers={**BROWSER, "Range": "bytes=10-99"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers and part.get_data() == raw[10:100]
    # A validator of the gzip encoding does not get the brotli one a 304.
    assert client.get("/static/js/app.js", headers={**BROWSER, "If-None-Match": first.headers["ETag"].replace(":br", ":gzip")}).status_code == 200


def test_static_files_are_kept_for_good_under_their_version(client, tmp_path):
    """The page names its files under the static folder's version: immutable, compressed
    once, byte for byte the file. Another version, or none, is revalidated each time."""
    html = body(client.get("/", headers=BROWSER)).decode()
    version = re.search(r'src="/static/([0-9a-f]{16})/js/main.js"', html).group(1)
    assert f'href="/static/{version}/js/paint-worker.js"' in html and f'href="/static/{version}/css/app.css"' in html
    for path in ("js/app.js", "vendor/socket.io/socket.io.esm.min.js", "css/app.css", "favicon.svg"):
        raw = (STATIC / path).read_bytes()
        for accept, expected in ((BROWSER["Accept-Encoding"], "br"), ("gzip", "gzip"), ("", None)):
            answer = client.get(f"/static/{version}/{path}", headers={"Accept-Encoding": accept})
            assert answer.status_code == 200 and answer.headers.get("Content-Encoding") == expected, (path, accept)
            assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert body(answer) == raw and answer.headers["ETag"] == f'W/"{version}"'
        assert client.get(f"/static/{version}/{path}", headers={"If-None-Match": f'W/"{version}"'}).status_code == 304
    stale = client.get("/static/0123456789abcdef/js/app.js", headers=BROWSER)  # a page opened before an update
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache" and body(stale) == (STATIC / "js/app.js").read_bytes()
    assert client.get(f"/static/{version}/js/nothing.js").status_code == 404
    assert client.get(f"/static/{version}/../webapp/__init__.py").status_code == 404


def test_the_static_version_is_a_digest_of_the_folder(tmp_path):
    folder = tmp_path / "static"
    (folder / "js").mkdir(parents=True)
    (folder / "js" / "a.js").write_text("export const a = 1;\n")
    first = StaticFiles(folder).current()
    assert re.fullmatch(r"[0-9a-f]{16}", first) and StaticFiles(folder).current() == first  # the same on every machine
    (folder / "js" / "a.js").write_text("export const a = 2;\n")
    assert StaticFiles(folder).current() != first


def test_network_json_is_cached_for_good_under_its_digest(client, page_links, network):
    _, url, _ = page_links
    assert re.fullmatch(r"/network/[0-9a-f]{20}\.json", url)
    answer = client.get(url, headers=BROWSER)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = answer.headers["ETag"]
    assert etag == f'W/"{url[9:-5]}"'
    data = body(answer)
    assert len(answer.get_data()) < 25_000 < len(data)
    # The same data in every encoding, and at the plain address (which asks each time).
    assert body(client.get(url, headers={"Accept-Encoding": "gzip"})) == data == client.get(url).get_data()
    plain = client.get("/network.json", headers=BROWSER)
    assert body(plain) == data and plain.headers["Cache-Control"] == "no-cache" and plain.headers["ETag"] == etag
    for path in (url, "/network.json"):
        for accept in (BROWSER["Accept-Encoding"], "gzip", ""):
            again = client.get(path, headers={"Accept-Encoding": accept, "If-None-Match": etag})
            assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": 'W/"0000"'}).status_code == 200
    assert client.get("/network/0123456789abcdef0123.json").status_code == 404  # another model's

    parsed = json.loads(data)
    assert [layer["name"] for layer in parsed["architecture"]][:3] == ["conv1", "relu1", "pool1"]
    field = parsed["architecture"][0]["field"]
    assert (field["jump"], field["size"], field["start"]) == ([1, 1], [2, 2], [0, 0])
    conv1, _ = network.weights["conv1"]
    assert np.array_equal(np.asarray(parsed["kernels"]["conv1"]["values"], np.float32).reshape(24, 2, 2), conv1[:, :, 0, :].transpose(2, 0, 1))


def test_top_patches_as_grey_levels(client, page_links):
    _, _, url = page_links
    answer = client.get(url, headers=BROWSER)
    assert answer.headers["Content-Encoding"] == "br" and "immutable" in answer.headers["Cache-Control"]
    data = json.loads(body(answer))
    shipped = load_top_patches(DEFAULT_MODEL_PATH.with_name("top_patches.npz"))
    for name, size in (("conv1", 2), ("conv2", 5)):
        grey = np.asarray(data[name]["patches"])
        assert data[name]["size"] == size and grey.shape == (24 if name == "conv1" else 48, 9, size * size)
        assert grey.min() >= 0 and grey.max() <= 255
        # The page divides by 255: within half a grey level of the shipped patches (MNIST's own levels).
        np.testing.assert_allclose(grey / 255, shipped[name]["patches"].reshape(grey.shape), atol=0.5 / 255)
    assert client.get(url, headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304


def test_the_address_follows_the_model(tmp_path):
    """Another model (here: conv1's biases changed) has another address for its data."""
    import h5py

    from model.parse_layers import describe_file
    from webapp.network_data import network_json
    from webapp.published import Published

    copy = tmp_path / "other.keras"
    with zipfile.ZipFile(DEFAULT_MODEL_PATH) as original, zipfile.ZipFile(copy, "w") as changed:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "model.weights.h5":
                buffer = io.BytesIO(data)
                with h5py.File(buffer, "r+") as h5:
                    h5.visititems(lambda name, obj: obj.__setitem__((), obj[()] + 0.5) if isinstance(obj, h5py.Dataset) and obj.shape == (24,) else None)
                data = buffer.getvalue()
            changed.writestr(item, data)
    ours, theirs = (Published(network_json(describe_file(path))) for path in (DEFAULT_MODEL_PATH, copy))
    assert ours.digest != theirs.digest


def test_socket_io_is_left_to_engine_io(client):
    """Engine.IO answers /socket.io/ before Flask: Flask-Compress never sees it."""
    answer = client.get("/socket.io/?EIO=4&transport=polling", headers=BROWSER)
    assert answer.status_code == 200 and answer.headers.get("Content-Encoding") in (None, "gzip", "deflate")
    assert answer.get_data().startswith(b'0{"sid"')
