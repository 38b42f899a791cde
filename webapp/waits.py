"""Waiting without stopping the server: under gevent (README's production command) a pipe
or a slow call must let every other client's greenlet run meanwhile; under the threading
server (tests, `python -m webapp`) the plain waits do. Used by the frame worker's supervisor
(compute.py), the training job's relay (training/jobs.py) and the saliency endpoint."""
import select


def off_loop(function, *args):
    """Call a slow function (the saliency gradient, model/gradient.py) on a real thread when
    the server runs under gevent, so every other client is served meanwhile."""
    if gevent_patched():
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)


def gevent_patched() -> bool:
    """True in a server started under gevent (the standard library patched for it)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def wait_readable(connection, timeout=None) -> bool:
    """Wait until an answer is there (True) or `timeout` seconds pass (False); under gevent
    other greenlets run meanwhile."""
    if gevent_patched():
        from gevent.socket import wait_read

        try:
            wait_read(connection.fileno(), timeout, timeout_exc=TimeoutError)
        except TimeoutError:
            return False
        return True
    return connection.poll(timeout)


def wait_writable(fd, timeout) -> bool:
    if timeout <= 0:
        return False
    if gevent_patched():
        from gevent.socket import wait_write

        try:
            wait_write(fd, timeout, timeout_exc=TimeoutError)
        except TimeoutError:
            return False
        return True
    return bool(select.select([], [fd], [], timeout)[1])
