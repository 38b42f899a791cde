"""Socket.IO packets as this server reads them: whatever a client sends becomes either a
packet python-socketio can dispatch safely or the reserved pseudo-event MALFORMED, which
events.py answers with `error_message`.

python-socketio takes this class as its `serializer` (its documented extension point).
Without it, a packet it cannot parse raises inside Engine.IO's message handler: the
client hears nothing and the server logs a traceback; a binary event also buffers as
many attachments, of any size, as the client declares.
"""
from socketio import packet

MALFORMED = "\x00malformed"  # not an event name a browser's JSON text can collide with
RESERVED = {"connect", "disconnect", "*", MALFORMED}  # "*": Flask-SocketIO's catch-all handler
_SENDING = object()  # no encoded packet: the server is building one to send
SENDABLE = {packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK, packet.BINARY_EVENT}


class Malformed:
    """Why a client's packet was refused. Not JSON: a client cannot forge one."""

    def __init__(self, reason):
        self.reason = reason


def serializer(max_bytes, max_attachments):
    """A packet class that refuses messages over `max_bytes` (text, or a binary event's
    attachments together) and binary events with more than `max_attachments` parts."""
    return type("BoundedPacket", (BoundedPacket,), {"max_bytes": max_bytes, "max_attachments": max_attachments})


class BoundedPacket(packet.Packet):
    max_bytes = 1_000_000
    max_attachments = 2

    def __init__(self, *args, encoded_packet=_SENDING, **kwargs):
        self.attachment_bytes = 0
        if encoded_packet is _SENDING:  # built by the server to send: nothing to check
            super().__init__(*args, **kwargs)
            return
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)
        # Engine.IO parses a message that reads as JSON (4null, 4true, 47, 4{}) into that value,
        # and the base class decodes only truthy ones: every other shape is refused here.
        if isinstance(encoded_packet, (bytes, bytearray)):
            self.refuse("a binary message that no event was waiting for")
        elif not isinstance(encoded_packet, str):
            self.refuse("a Socket.IO packet is text that starts with its type, not a bare JSON value")
        elif not encoded_packet:
            self.refuse("an empty message is not a Socket.IO packet")

    def refuse(self, reason):
        """Become the MALFORMED event, on the one namespace this server has."""
        self.packet_type, self.id, self.namespace = packet.EVENT, None, None
        self.data = [MALFORMED, Malformed(reason)]
        self.attachments = []
        return 0

    def decode(self, encoded_packet):
        if not isinstance(encoded_packet, str):
            return 0  # refused by __init__, which says what it was
        if len(encoded_packet) > self.max_bytes:
            return self.refuse(f"message too large: {len(encoded_packet):,} bytes, at most {self.max_bytes:,}")
        try:
            count = super().decode(encoded_packet)
        except RecursionError:
            return self.refuse("the message is nested too deeply")
        except (ValueError, TypeError, IndexError) as error:
            return self.refuse(f"not a Socket.IO packet this server can read ({str(error)[:80]})")
        problem = self.problem(count)
        return self.refuse(problem) if problem else count

    def problem(self, count):
        """What is wrong with a parsed packet, or None."""
        if self.packet_type not in SENDABLE:
            return f"packet type {str(self.packet_type)[:10]} is not one a client sends"
        if self.namespace not in (None, "/"):
            return f"there is no namespace {self.namespace[:40]!r} here"
        if self.packet_type == packet.ACK and (not self.id or not isinstance(self.data, list)):
            # id 0 is where python-socketio keeps its id counter: acknowledging it would break acks
            return "an acknowledgement carries the id of a message sent to you, and a list"
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            return self.event_problem(count)
        return None

    def event_problem(self, count):
        data = self.data
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            return "an event is a list: its name, then its data"
        if data[0] in RESERVED:
            return f"{data[0][:40]!r} is not an event a client may send"
        if len(data) != 2:
            return f"event {data[0][:40]!r} takes one argument, an object; got {len(data) - 1}"
        if self.packet_type == packet.BINARY_EVENT and not 0 < count <= self.max_attachments:
            return f"a binary event has 1 to {self.max_attachments} attachments; this one declares {count:,}"
        return None

    def add_attachment(self, attachment):
        """One binary part of a pending event. True when the event is complete, or refused:
        a refused event is answered at once instead of waiting for parts that may never end."""
        if not isinstance(attachment, (bytes, bytearray)):
            return self.refuse_pending(f"expected {self.attachment_count} binary attachments, got a text message instead")
        self.attachment_bytes += len(attachment)
        if self.attachment_bytes > self.max_bytes:
            return self.refuse_pending(f"message too large: binary attachments over {self.max_bytes:,} bytes")
        self.attachments.append(attachment)
        if len(self.attachments) < self.attachment_count:
            return False
        try:
            self.data = self.reconstruct_binary(self.data, self.attachments)
        except (IndexError, KeyError, TypeError, RecursionError):
            return self.refuse_pending("the binary placeholders do not match the attachments")
        return True

    def refuse_pending(self, reason):
        self.refuse(reason)
        self.packet_type = packet.BINARY_EVENT  # python-socketio dispatches a completed binary packet by this type
        return True
