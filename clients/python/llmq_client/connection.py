"""One connection to llmqd: the socket path, the line framing and JSON-RPC 2.0.

llmqd speaks one JSON object per ``\\n``-terminated line on a Unix stream socket
(ipc/PROTOCOL.md). Answers come back in the order requests were sent, but event
notifications (``"method": "event"``) may arrive between them at any time, so the
reader keeps the events it reads while waiting for an answer in a buffer, where
the subscriptions pick them up later. Only events of subscriptions that are still
open are kept, so the buffer never holds what nobody will read. Not thread-safe:
see Client.
"""

from __future__ import annotations

import collections
import json
import os
import socket
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Set, Tuple

from .errors import ConnectionLost, DaemonUnavailable, ProtocolError, error_from_response

# Bytes asked of the socket per read; lines longer than this take several reads.
_READ_SIZE = 65536


def default_socket_path() -> str:
    """Where llmqd listens when no path is given, as README.md "Where files live" says.

    ``LLMQ_SOCKET`` if set, else the per-user daemon's
    ``$XDG_RUNTIME_DIR/llmq/llmqd.sock``, else the system daemon's
    ``/run/llmq/llmqd.sock``. When the per-user socket does not exist but the
    system one does, the system one is used: a user of a machine-wide llmqd
    needs no configuration.
    """
    explicit = os.environ.get("LLMQ_SOCKET")
    if explicit:
        return explicit
    system = "/run/llmq/llmqd.sock"
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        user = os.path.join(runtime_dir, "llmq", "llmqd.sock")
        if os.path.exists(user) or not os.path.exists(system):
            return user
    return system


def deadline_after(timeout: Optional[float]) -> Optional[float]:
    """The time.monotonic() instant `timeout` seconds from now; None stays None (no limit)."""
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


def seconds_left(deadline: Optional[float]) -> Optional[float]:
    """Seconds until `deadline` (never negative); None for no deadline."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class Connection:
    """A JSON-RPC 2.0 connection to llmqd over its Unix socket.

    call() sends a request and reads until its answer, buffering the events it
    reads meanwhile. next_event() hands out buffered events first, then reads
    more. send_and_forget() sends a request whose answer is dropped when it comes
    (used to unsubscribe without waiting). Any failure of the socket makes the
    connection unusable: every later call raises ConnectionLost.

    Events are kept only for open subscriptions: a call whose answer carries a
    ``subscription`` (events.subscribe, job.submit with ``subscribe``) opens
    it, and finish_subscription() forgets it.
    """

    def __init__(self, path: str, connect_timeout: Optional[float] = 5.0) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(connect_timeout)
            self._sock.connect(path)
        except (OSError, ValueError) as e:
            self._sock.close()
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise DaemonUnavailable(f"connecting to llmqd at {path}: {reason}") from e
        self._next_id = 1
        self._buffer = bytearray()
        self._scanned = 0  # Bytes of _buffer already searched for a newline.
        self._events: Deque[Dict[str, Any]] = collections.deque()
        # Open subscriptions: only their events are kept.
        self._subscriptions: Set[str] = set()
        # True while a call that may open a subscription waits for its answer: its
        # first events may come before the answer that names the subscription.
        self._opening = False
        # Requests to send once no call is in progress (see send_and_forget).
        self._deferred: List[Tuple[str, Optional[Dict[str, Any]]]] = []
        self._busy = False
        self._broken: Optional[str] = None  # Why the connection is unusable, once it is.

    # --- Public operations -------------------------------------------------------

    def close(self) -> None:
        """Closes the socket. The daemon drops this connection's subscriptions."""
        if self._broken is None:
            self._broken = "the client closed the connection"
        self._sock.close()

    @property
    def closed(self) -> bool:
        return self._broken is not None

    def call(self, method: str, params: Optional[Dict[str, Any]], timeout: Optional[float],
             opens_subscription: bool = False) -> Any:
        """Sends one request and returns its ``result``.

        With `opens_subscription`, a ``subscription`` named in the result is
        opened (its events are kept from now on).

        Raises the LlmqError subclass of an error answer, TimeoutError when no
        answer came within `timeout` seconds (None: wait as long as it takes; the
        late answer is dropped when it arrives), ConnectionLost or ProtocolError.
        """
        deadline = deadline_after(timeout)
        self._enter()
        self._opening = opens_subscription
        try:
            request_id = self._send(method, params, timeout)
            while True:
                message = self._read_message(deadline, f"the answer to {method}")
                if "method" in message and "id" not in message:
                    self._keep_event(message)
                    continue
                answer_id = message.get("id")
                if answer_id is None and "error" in message:
                    # The daemon could not read our line at all (ipc/PROTOCOL.md).
                    raise error_from_response(message["error"])
                if answer_id != request_id:
                    continue  # The late answer of a timed-out or forgotten request.
                if "error" in message:
                    raise error_from_response(message["error"])
                if "result" not in message:
                    raise ProtocolError(f"answer to {method} has neither result nor error")
                result = message["result"]
                if opens_subscription and isinstance(result, dict) and \
                        isinstance(result.get("subscription"), str):
                    self._subscriptions.add(result["subscription"])
                return result
        finally:
            if self._opening:
                self._opening = False
                self._drop_events(lambda e: e.get("subscription") not in self._subscriptions)
            self._leave()

    def send_and_forget(self, method: str, params: Optional[Dict[str, Any]]) -> None:
        """Sends a request without waiting for its answer, which is dropped later.

        If a call is in progress (this runs from a generator's cleanup, which the
        garbage collector may trigger anywhere), the request is sent before the
        next one instead, so two requests never interleave on the socket.
        """
        if self._broken is not None:
            return
        if self._busy:
            self._deferred.append((method, params))
            return
        self._enter()
        try:
            self._send(method, params, None)
        finally:
            self._leave()

    def next_event(self, wanted: Callable[[Dict[str, Any]], bool],
                   deadline: Optional[float]) -> Dict[str, Any]:
        """The first event (a notification's ``params``) for which wanted() is true.

        Buffered events come first, in arrival order; events read meanwhile that
        are not wanted are buffered for others. Raises TimeoutError at `deadline`
        (a time.monotonic() instant, None for none).
        """
        for i, event in enumerate(self._events):
            if wanted(event):
                del self._events[i]
                return event
        self._enter()
        try:
            while True:
                message = self._read_message(deadline, "an event")
                if "method" not in message or "id" in message:
                    continue  # The answer of a request sent with send_and_forget().
                if message.get("method") != "event" or not isinstance(message.get("params"), dict):
                    continue  # A notification this client does not know.
                event = message["params"]
                if wanted(event):
                    return event
                self._keep_event(message)
        finally:
            self._leave()

    def finish_subscription(self, subscription: Optional[str]) -> None:
        """Forgets a subscription: drops its buffered events and any that come later."""
        if subscription is None or subscription not in self._subscriptions:
            return
        self._subscriptions.discard(subscription)
        self._drop_events(lambda e: e.get("subscription") == subscription)

    # --- Internals -----------------------------------------------------------------

    def _enter(self) -> None:
        if self._broken is not None:
            raise ConnectionLost(f"connection to llmqd at {self.path} is unusable: {self._broken}")
        self._busy = True
        deferred, self._deferred = self._deferred, []
        try:
            for method, params in deferred:
                self._send(method, params, None)
        except BaseException:
            self._busy = False
            raise

    def _leave(self) -> None:
        self._busy = False

    def _fail(self, reason: str) -> ConnectionLost:
        """Marks the connection unusable and returns the error to raise."""
        self._broken = reason
        self._sock.close()
        return ConnectionLost(f"llmqd at {self.path}: {reason}")

    def _send(self, method: str, params: Optional[Dict[str, Any]], timeout: Optional[float]) -> int:
        request_id = self._next_id
        self._next_id += 1
        request: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            request["params"] = params
        # allow_nan=False: NaN is not JSON; refuse it here with a ValueError.
        line = json.dumps(request, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(line.encode("utf-8") + b"\n")
        except OSError as e:
            # A partial write would corrupt the framing, so even a timeout is fatal.
            raise self._fail(f"sending {method}: {e.strerror or e}") from e
        return request_id

    def _keep_event(self, message: Dict[str, Any]) -> None:
        """Buffers an event notification for next_event(), unless nobody will want it."""
        if message.get("method") != "event" or not isinstance(message.get("params"), dict):
            return
        if self._opening or message["params"].get("subscription") in self._subscriptions:
            self._events.append(message["params"])

    def _drop_events(self, unwanted: Callable[[Dict[str, Any]], bool]) -> None:
        if any(unwanted(e) for e in self._events):
            self._events = collections.deque(e for e in self._events if not unwanted(e))

    def _read_message(self, deadline: Optional[float], waiting_for: str) -> Dict[str, Any]:
        line = self._read_line(deadline, waiting_for)
        try:
            message = json.loads(line)
        except ValueError as e:
            raise self._fail(f"unreadable line from llmqd ({e}): {line[:200]!r}") from e
        if not isinstance(message, dict):
            raise ProtocolError(f"expected a JSON object from llmqd, got: {line[:200]!r}")
        return message

    def _read_line(self, deadline: Optional[float], waiting_for: str) -> bytes:
        """The next non-empty line, without its newline."""
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[:newline + 1]
                self._scanned = 0
                if line.strip():
                    return line
                continue
            self._scanned = len(self._buffer)
            left = seconds_left(deadline)
            try:
                # A timeout of 0 makes the socket non-blocking: whatever is already
                # there is still read, and an empty socket raises BlockingIOError.
                self._sock.settimeout(left)
                chunk = self._sock.recv(_READ_SIZE)
            except (socket.timeout, BlockingIOError):
                raise TimeoutError(f"no {waiting_for} from llmqd at {self.path} in time") from None
            except OSError as e:
                raise self._fail(f"reading: {e.strerror or e}") from e
            if not chunk:
                raise self._fail("the daemon closed the connection")
            self._buffer += chunk
