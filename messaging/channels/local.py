"""Channels that send nowhere: the console (the quick start) and memory (unit tests)."""

import sys
import threading
import uuid

from messaging.channels.base import ChannelBackend, Outgoing

outbox: list[Outgoing] = []  # what LocmemChannel "sent", in order (tests read and clear it)
_lock = threading.Lock()


class ConsoleChannel(ChannelBackend):
    provider = "console"

    def send(self, message: Outgoing) -> str:
        stream = self.options.get("stream") or sys.stdout
        title = f" — {message.subject}" if message.subject else ""
        stream.write(f"[{self.channel} to {message.to}{title}] {message.body}\n")
        stream.flush()
        return f"console-{uuid.uuid4().hex[:12]}"


class LocmemChannel(ChannelBackend):
    provider = "locmem"

    def send(self, message: Outgoing) -> str:
        with _lock:
            outbox.append(message)
        return f"locmem-{len(outbox)}"
