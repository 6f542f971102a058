"""llmq_client: the Python client of llmqd, the local LLM job queue (standard library only).

    from llmq_client import Client, content_of

    with Client() as llmq:                      # LLMQ_SOCKET, XDG_RUNTIME_DIR or /run
        job = llmq.submit(model="mock/echo", prompt="hello")
        done = llmq.wait(job["job_id"], timeout=60)
        print(done["state"], content_of(done))
        for text in llmq.stream(model="mock/demo", prompt="a haiku"):
            print(text, end="", flush=True)

Modules: client (Client, Subscription, TextStream, Event), connection (the socket
and JSON-RPC framing), errors (LlmqError and its subclasses). The protocol is
described in ipc/PROTOCOL.md of the llmq source tree.
"""

from .client import (TERMINAL_EVENTS, TERMINAL_STATES, Client, Event, Subscription, TextStream,
                     content_of)
from .connection import default_socket_path
from .errors import (BudgetExceeded, ConnectionLost, DaemonUnavailable, InternalError,
                     InvalidParams, InvalidRequest, InvalidState, JobFailed, LlmqError,
                     MethodNotFound, NotFound, Overloaded, ParseError, PermissionDenied,
                     ProtocolError, StorageFailure, error_from_response)

__version__ = "0.1.0"

__all__ = [
    "BudgetExceeded",
    "Client",
    "ConnectionLost",
    "DaemonUnavailable",
    "Event",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "InvalidState",
    "JobFailed",
    "LlmqError",
    "MethodNotFound",
    "NotFound",
    "Overloaded",
    "ParseError",
    "PermissionDenied",
    "ProtocolError",
    "StorageFailure",
    "Subscription",
    "TERMINAL_EVENTS",
    "TERMINAL_STATES",
    "TextStream",
    "content_of",
    "default_socket_path",
    "error_from_response",
]
