"""A Socket.IO client written by hand over a raw WebSocket, for fuzzing: it sends any text
or binary frame it is given (what no client library would send), reads what the server
sends back as packets (binary attachments put in place), answers the server's pings and
acknowledges every event that asks for it (frames are flow-controlled: a client that
does not acknowledge them stops getting them).

Engine.IO v4 text frames: "0" open, "1" close, "2" ping, "3" pong, "4" message, "6" noop.
A Socket.IO packet is an Engine.IO message: "4" + type (0 CONNECT, 1 DISCONNECT, 2 EVENT,
3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK) + [attachments "-"] + [namespace ","]
+ [ack id] + [JSON]; a binary packet's attachments follow as binary frames."""
import json
import re
import socket
import time

import websocket

PACKET = re.compile(r"^(\d)(?:(\d+)-)?(/[^,]*,)?(\d+)?(.*)$", re.S)
ERRORS = (websocket.WebSocketConnectionClosedException, ConnectionError, BrokenPipeError, OSError,
          websocket.WebSocketProtocolException, websocket.WebSocketPayloadException)


class Closed(Exception):
    """The server ended the connection (or the Socket.IO session)."""


class Packet:
    def __init__(self, kind, namespace, ack_id, data, attachments=()):
        self.kind, self.namespace, self.ack_id, self.data, self.attachments = kind, namespace, ack_id, data, list(attachments)

    @property
    def event(self):
        """(name, argument) of an event packet, placeholders replaced by their attachments."""
        if self.kind not in (2, 5) or not isinstance(self.data, list) or not self.data:
            return None, None
        argument = self.data[1] if len(self.data) > 1 else None
        return self.data[0], fill(argument, self.attachments)

    def __repr__(self):
        return f"Packet({self.kind}, {self.namespace!r}, {self.ack_id}, {str(self.data)[:120]})"


def fill(value, attachments):
    if isinstance(value, dict):
        if value.get("_placeholder") is True and isinstance(value.get("num"), int) and value["num"] < len(attachments):
            return attachments[value["num"]]
        return {k: fill(v, attachments) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, attachments) for v in value]
    return value


class RawSocket:
    def __init__(self, url, cookie=None, timeout=10.0, connect=True):
        headers = [f"Cookie: {cookie}"] if cookie else None
        self.ws = websocket.create_connection(
            url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket", timeout=timeout, header=headers,
        )
        self.ws.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        opened = self.ws.recv()
        assert isinstance(opened, str) and opened.startswith("0"), opened  # Engine.IO open
        self.closed = False
        self.sent_frames = 0
        if connect:
            self.send("40")
            packet = self.next_packet(timeout)
            assert packet is not None and packet.kind == 0, packet  # Socket.IO CONNECT answered

    def send(self, *frames):
        try:
            self.ws.settimeout(10)
            for frame in frames:
                if isinstance(frame, (bytes, bytearray)):
                    self.ws.send_binary(bytes(frame))
                else:
                    self.ws.send(frame)
                self.sent_frames += 1
        except ERRORS as error:
            self.closed = True
            raise Closed(f"send: {error!r}") from None

    def emit(self, event, data):
        self.send("42" + json.dumps([event, data], separators=(",", ":")))

    def _recv(self, deadline):
        """The next frame (str or bytes), or None at the deadline; pings are answered."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.ws.settimeout(left)
            try:
                message = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                return None
            except socket.timeout:
                return None
            except ERRORS as error:
                self.closed = True
                raise Closed(f"recv: {error!r}") from None
            if message == "" or message is None:
                if not self.ws.connected:
                    self.closed = True
                    raise Closed("closed by the server")
                continue
            if message == "2":
                self.send("3")
                continue
            return message

    def next_packet(self, timeout=10.0):
        """The next Socket.IO packet from the server, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._recv(deadline)
            if message is None:
                return None
            if isinstance(message, bytes):
                continue  # an attachment with no packet before it: not from this server
            if message[:1] == "1":
                self.closed = True
                raise Closed("Engine.IO close")
            if message[:1] != "4":
                continue
            match = PACKET.match(message[1:])
            if not match:
                return Packet(-1, None, None, message)
            kind = int(match.group(1))
            count = int(match.group(2) or 0)
            namespace = (match.group(3) or "/,")[:-1]
            ack_id = int(match.group(4)) if match.group(4) else None
            body = match.group(5)
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = body
            attachments = []
            while len(attachments) < count:
                part = self._recv(time.monotonic() + 10)
                if part is None:
                    break
                attachments.append(part)
            packet = Packet(kind, namespace, ack_id, data, attachments)
            if kind == 1:
                self.closed = True
                raise Closed("Socket.IO DISCONNECT")
            if kind in (2, 5) and ack_id is not None:
                self.send(f"43{ack_id}[]")  # acknowledge, as the browser's client does
            return packet

    def close(self):
        try:
            self.ws.close(timeout=1)
        except Exception:  # noqa: BLE001 (already gone)
            pass
        self.closed = True
