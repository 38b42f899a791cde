"""What a first visit costs on the wire: `python -m bench.first_load [--dev] [--root DIR]`.

Starts the app (README's production command, gunicorn with gevent; `--dev`: `python -m
webapp`), then opens the main page, a student's page and the teacher's page, each in a
fresh Chromium context (a cold cache), and sums every HTTP response the page loaded until
it connected and the network went quiet: bytes on the wire (Chromium's
encodedDataLength: headers and body as received) and bodies uncompressed. The Socket.IO
WebSocket is not counted (it is not HTTP, and sends a few hundred bytes before drawing).
Then the same page again in the same context: what a second visit costs. `--root`
serves another checkout (a `git worktree` of an older commit) with this one's Python, to
measure "before". Kilobytes are 1,000 bytes.
"""
import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench import targets
from bench.load import ROOT, start_server, stop

TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")


def is_text(mime):
    return mime.startswith(TEXT_TYPES)


class Recorder:
    """Every HTTP response a page receives, from Chromium's DevTools protocol."""

    def __init__(self, page):
        self.session = page.context.new_cdp_session(page)
        self.responses = {}
        self.session.on("Network.responseReceived", self._response)
        self.session.on("Network.dataReceived", self._data)
        self.session.on("Network.loadingFinished", self._finished)
        self.session.on("Network.requestServedFromCache", self._from_cache)
        self.session.send("Network.enable")

    def _entry(self, request_id):
        return self.responses.setdefault(request_id, {"decoded": 0, "wire": 0, "from_cache": False, "finished": False})

    def _response(self, event):
        response = event["response"]
        headers = {k.lower(): v for k, v in response["headers"].items()}
        entry = self._entry(event["requestId"])
        entry.update(
            url=response["url"],
            status=response["status"],
            mime=response["mimeType"],
            encoding=headers.get("content-encoding"),
            cache_control=headers.get("cache-control"),
            from_cache=entry["from_cache"] or response.get("fromDiskCache", False) or response.get("fromPrefetchCache", False),
        )

    def _data(self, event):
        self._entry(event["requestId"])["decoded"] += event["dataLength"]

    def _finished(self, event):
        entry = self._entry(event["requestId"])
        entry["wire"] = event["encodedDataLength"]
        entry["finished"] = True

    def _from_cache(self, event):
        self._entry(event["requestId"])["from_cache"] = True

    def take(self):
        """The responses so far (with a URL: not WebSocket), and forget them."""
        done = [r for r in self.responses.values() if "url" in r and r["url"].startswith("http")]
        self.responses = {}
        return done


def visit(page, recorder, url):
    """Open `url` and wait until it is connected and quiet: the responses it loaded."""
    page.goto(url)
    page.wait_for_selector("#status[data-state=connected]", timeout=30_000)
    page.wait_for_load_state("networkidle")
    return recorder.take()


def summary(responses):
    return {
        "requests": len(responses),
        "wire": sum(r["wire"] for r in responses),
        "decoded": sum(r["decoded"] for r in responses),
        "uncompressed_text": [r["url"] for r in responses if r["status"] == 200 and is_text(r["mime"]) and not r["encoding"] and r["decoded"]],
    }


def page_urls(browser, url):
    """The three pages, each with a context of its own holding its cookies:
    [(name, context, address)]. A class is started (the teacher) and joined (a student)."""
    main = browser.new_context()
    teacher = browser.new_context()
    started = teacher.request.post(url + "/class", max_redirects=0)
    teach = started.headers["location"]
    code = teach.rstrip("/").split("/")[-2]
    student = browser.new_context(viewport={"width": 400, "height": 800})
    joined = student.request.post(url + "/join", form={"code": code, "name": "Ana"}, max_redirects=0)
    absolute = lambda location: location if location.startswith("http") else url + location  # noqa: E731
    return [("main", main, url + "/"), ("student", student, absolute(joined.headers["location"])), ("teacher", teacher, absolute(teach))]


def measure(browser, url):
    """Per page: its first load, a second load in the same context, and the top patches
    fetched afterwards as the inspector does (None where the page has none to fetch)."""
    results = []
    for name, context, address in page_urls(browser, url):
        page = context.new_page()
        recorder = Recorder(page)
        first = visit(page, recorder, address)
        second = visit(page, recorder, address)
        top = page.evaluate("() => document.querySelector('#inspector').dataset.topPatches || null")
        if top:
            page.evaluate("(url) => fetch(url).then((r) => r.arrayBuffer())", top)
            page.wait_for_load_state("networkidle")
            time.sleep(0.2)
        lazy = recorder.take() if top else []
        results.append({"page": name, "first": first, "second": second, "top_patches": lazy})
        context.close()
    return results


def kb(n):
    return f"{n / 1000:.1f} KB"


def report(results, out=sys.stdout):
    print(f"{'page':8s} {'requests':>8s} {'on the wire':>12s} {'uncompressed':>13s}   second load: on the wire, JSON", file=out)
    for result in results:
        first, second = summary(result["first"]), summary(result["second"])
        json_again = [
            f"{urlsplit(r['url']).path} {'from cache' if r['from_cache'] else r['status']}"
            for r in result["second"]
            if r["mime"] == "application/json"
        ]
        print(
            f"{result['page']:8s} {first['requests']:8d} {kb(first['wire']):>12s} {kb(first['decoded']):>13s}"
            f"   {kb(second['wire'])} ({second['requests']} requests), {', '.join(json_again) or 'none'}",
            file=out,
        )
        if first["uncompressed_text"]:
            print(f"         not compressed: {' '.join(urlsplit(u).path for u in first['uncompressed_text'])}", file=out)
    lazy = next((r["top_patches"] for r in results if r["top_patches"]), [])
    if lazy:
        s = summary(lazy)
        print(f"top patches, fetched when the inspector first shows a conv map: {kb(s['wire'])} on the wire, {kb(s['decoded'])} uncompressed", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="the development server (python -m webapp) instead of gunicorn")
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (default: this one)")
    args = parser.parse_args(argv)
    from tests.browser import launch

    process, url = start_server(root=Path(args.root), dev=args.dev)
    playwright, browser = launch()
    try:
        results = measure(browser, url)
        report(results)
        targets.show(targets.first_load({r["page"]: summary(r["first"])["wire"] for r in results}), "issue 11")
    finally:
        browser.close()
        playwright.stop()
        stop(process)


if __name__ == "__main__":
    main()
