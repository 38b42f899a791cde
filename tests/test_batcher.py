import threading
import time

from webapp.batcher import LatestWinsBatcher


class HeldHandler:
    """Records batches; holds the first one until released, as a slow model call would."""

    def __init__(self):
        self.batches = []
        self.busy = threading.Event()
        self.release = threading.Event()

    def __call__(self, jobs):
        self.batches.append(jobs)
        self.busy.set()
        assert self.release.wait(5)


def wait(condition):
    deadline = time.time() + 5
    while not condition():
        assert time.time() < deadline
        time.sleep(0.001)


def test_newer_drawings_replace_waiting_ones_and_clients_share_a_batch():
    handler = HeldHandler()
    batcher = LatestWinsBatcher(handler)
    batcher.submit("ann", "ann-1")
    assert handler.busy.wait(5)  # ann-1 is being answered; everything below waits
    for n in range(2, 7):
        batcher.submit("ann", f"ann-{n}")
    batcher.submit("bob", "bob-1")
    batcher.submit("bob", "bob-2")
    handler.release.set()
    wait(lambda: len(handler.batches) == 2)
    assert handler.batches == [["ann-1"], ["ann-6", "bob-2"]]
    assert (batcher.submitted, batcher.dropped) == (8, 5)


def test_batches_are_capped_and_nobody_is_starved():
    handler = HeldHandler()
    batcher = LatestWinsBatcher(handler, max_batch=3)
    batcher.submit("first", 0)
    assert handler.busy.wait(5)
    for n in range(7):
        batcher.submit(f"client{n}", n)
    handler.release.set()
    wait(lambda: sum(map(len, handler.batches)) == 8)
    assert [len(b) for b in handler.batches] == [1, 3, 3, 1]
    assert [job for batch in handler.batches[1:] for job in batch] == list(range(7))  # arrival order


def test_a_failing_batch_does_not_stop_the_worker():
    done = []

    def handle(jobs):
        if "boom" in jobs:
            raise RuntimeError("bad batch")
        done.extend(jobs)

    batcher = LatestWinsBatcher(handle)
    batcher.submit("a", "boom")
    time.sleep(0.05)
    batcher.submit("a", "fine")
    wait(lambda: done == ["fine"])


def test_a_replaced_drawing_keeps_its_place_in_line():
    handler = HeldHandler()
    batcher = LatestWinsBatcher(handler, max_batch=1)
    batcher.submit("busy", "busy-1")
    assert handler.busy.wait(5)
    batcher.submit("ann", "ann-1")
    batcher.submit("bob", "bob-1")
    batcher.submit("ann", "ann-2")  # ann was waiting first: she stays first
    handler.release.set()
    wait(lambda: len(handler.batches) == 3)
    assert handler.batches == [["busy-1"], ["ann-2"], ["bob-1"]]


def test_the_next_batch_starts_before_the_last_one_is_finished():
    """A handler may return the rest of its work: the batcher hands over the next batch
    first, so a frame worker computes while the last batch's frames are sent."""
    events = []
    more = threading.Event()

    def handle(jobs):
        events.append(("start", jobs))
        if jobs == ["a-1"]:
            assert more.wait(5)  # hold on until b's drawing is waiting too
        return lambda: events.append(("finish", jobs))

    batcher = LatestWinsBatcher(handle)
    batcher.submit("a", "a-1")
    wait(lambda: events)
    batcher.submit("b", "b-1")
    more.set()
    wait(lambda: len(events) == 4)
    assert events == [("start", ["a-1"]), ("start", ["b-1"]), ("finish", ["a-1"]), ("finish", ["b-1"])]


def test_capacity_refuses_new_clients_but_not_a_waiting_clients_newer_job():
    handler = HeldHandler()
    batcher = LatestWinsBatcher(handler, max_batch=1, capacity=2)
    assert batcher.submit("busy", "busy-1")
    assert handler.busy.wait(5)  # in hand: no longer waiting
    assert batcher.submit("ann", "ann-1") and batcher.submit("bob", "bob-1")
    assert not batcher.submit("cy", "cy-1")  # full
    assert batcher.submit("ann", "ann-2")  # replaces her own: takes no more room
    handler.release.set()
    wait(lambda: len(handler.batches) == 3)
    assert handler.batches == [["busy-1"], ["ann-2"], ["bob-1"]]
    assert batcher.submit("cy", "cy-2")  # room again


def test_submit_does_not_yield_to_other_greenlets_under_gevent():
    """Under gevent (README's production server) a submit holds the batcher's lock: if it
    yielded to the event loop meanwhile (`Thread.is_alive()` does), every sender held the
    lock for a whole turn of the loop and, in a reconnect storm, the batcher waited seconds
    for it while a drawing client went unanswered (#17)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        from gevent import monkey; monkey.patch_all()
        import gevent
        from webapp.batcher import LatestWinsBatcher

        batcher = LatestWinsBatcher(lambda jobs: None)
        batcher.submit("first", 1)  # starts the worker thread (a greenlet here)
        gevent.sleep(0.1)
        ran = []
        gevent.spawn(ran.append, 1)
        for n in range(100):
            batcher.submit(n, n)
            batcher.forget(n)
        assert not ran, "a submit yielded to another greenlet"
        gevent.sleep(0.1)
        assert ran
        print("ok")
        """
    )
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
