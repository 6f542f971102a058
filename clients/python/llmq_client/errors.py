"""The exceptions llmq_client raises.

Every error this package raises on purpose derives from LlmqError, which carries
the JSON-RPC code (an int, or None when the error did not come from the daemon),
the message, the symbolic code (``error.data.code`` of ipc/PROTOCOL.md, such as
"INVALID_PARAMS" or "NO_API_KEY") and the error's data. An error answer of the
daemon becomes the subclass for its code (NotFound for -32001, ...). Waiting
that runs out of time raises Python's own TimeoutError.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class LlmqError(Exception):
    """Base class of every llmq_client error.

    Attributes:
        code: the JSON-RPC error code (-32602, -32001, ...), or None for errors
            that are not an answer of the daemon (JobFailed, connection errors).
        message: what went wrong, for people.
        symbol: the symbolic code, e.g. "INVALID_PARAMS", "NOT_FOUND",
            "NO_API_KEY", or a job error code such as "RATE_LIMITED".
        data: the error's ``data`` object as the daemon sent it (or, for
            JobFailed, the job's ``error`` object); None when there is none.
    """

    # The symbol a subclass stands for when the daemon's answer names none.
    SYMBOL: Optional[str] = None

    def __init__(self, code: Optional[int], message: str, symbol: Optional[str] = None,
                 data: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.symbol = symbol if symbol is not None else self.SYMBOL
        self.data = data

    def __str__(self) -> str:
        parts = []
        if self.code is not None:
            parts.append(str(self.code))
        if self.symbol:
            parts.append(self.symbol)
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
                f"symbol={self.symbol!r})")


# --- Errors the daemon answers with (ipc/PROTOCOL.md, "Errors") ---------------

class ParseError(LlmqError):
    """-32700: the daemon could not read a line as JSON."""
    CODE = -32700
    SYMBOL = "PARSE_ERROR"


class InvalidRequest(LlmqError):
    """-32600: not a JSON-RPC request, or a frame over the size limit."""
    CODE = -32600
    SYMBOL = "INVALID_REQUEST"


class MethodNotFound(LlmqError):
    """-32601: the daemon has no such method."""
    CODE = -32601
    SYMBOL = "METHOD_NOT_FOUND"


class InvalidParams(LlmqError):
    """-32602: a param is missing, of the wrong type, out of range, or unknown.

    ``symbol`` may be more precise than INVALID_PARAMS, e.g. NO_API_KEY for a
    model whose provider needs a key that is not set.
    """
    CODE = -32602
    SYMBOL = "INVALID_PARAMS"


class InternalError(LlmqError):
    """-32603: a bug in the daemon, or a failed upstream fetch (models refresh)."""
    CODE = -32603
    SYMBOL = "INTERNAL_ERROR"


class NotFound(LlmqError):
    """-32001: no such job, subscription or budget."""
    CODE = -32001
    SYMBOL = "NOT_FOUND"


class BudgetExceeded(LlmqError):
    """-32002: a budget with action "reject" refused the job."""
    CODE = -32002
    SYMBOL = "BUDGET_EXCEEDED"


class PermissionDenied(LlmqError):
    """-32003: the job, client or method belongs to someone else or to administrators."""
    CODE = -32003
    SYMBOL = "PERMISSION_DENIED"


class InvalidState(LlmqError):
    """-32004: e.g. cancelling a finished job, or retrying a running one."""
    CODE = -32004
    SYMBOL = "INVALID_STATE"


class Overloaded(LlmqError):
    """-32005: the daemon is shutting down."""
    CODE = -32005
    SYMBOL = "OVERLOADED"


class StorageFailure(LlmqError):
    """-32006: the database could not commit (disk full, I/O error); nothing was stored."""
    CODE = -32006
    SYMBOL = "STORAGE_FAILURE"


_BY_CODE: Dict[int, Type[LlmqError]] = {
    cls.CODE: cls
    for cls in (ParseError, InvalidRequest, MethodNotFound, InvalidParams, InternalError,
                NotFound, BudgetExceeded, PermissionDenied, InvalidState, Overloaded,
                StorageFailure)
}


def error_from_response(error: Any) -> LlmqError:
    """Turns the ``error`` member of a JSON-RPC response into its exception.

    A code this package does not know gives a plain LlmqError, so a newer
    daemon never makes the client fail to report an error.
    """
    if not isinstance(error, dict):
        return ProtocolError(f"malformed error object from llmqd: {error!r}")
    code = error.get("code")
    message = error.get("message")
    if not isinstance(message, str):
        message = "llmqd gave no message"
    data = error.get("data") if isinstance(error.get("data"), dict) else None
    symbol = data.get("code") if data is not None and isinstance(data.get("code"), str) else None
    cls = _BY_CODE.get(code, LlmqError) if isinstance(code, int) else LlmqError
    return cls(code if isinstance(code, int) else None, message, symbol, data)


# --- Errors of jobs and of the connection -------------------------------------

class JobFailed(LlmqError):
    """A job ended without an answer: failed, cancelled or expired.

    ``symbol`` (also ``error_code``) is the job's error code from ipc/PROTOCOL.md:
    "RATE_LIMITED", "UPSTREAM_ERROR", "INVALID_REQUEST", "CANCELLED", "EXPIRED", ...
    ``job`` is the whole job object as job.get returned it; ``data`` its ``error``.
    """

    def __init__(self, job: Dict[str, Any]) -> None:
        error = job.get("error") if isinstance(job.get("error"), dict) else {}
        state = job.get("state", "unknown")
        symbol = error.get("code") or str(state).upper()
        detail = error.get("message") or "no message"
        super().__init__(None, f"job {job.get('job_id')} {state}: {detail}", symbol, error or None)
        self.job = job
        self.job_id: Optional[str] = job.get("job_id")
        self.state: str = state
        self.error_code: str = symbol
        self.upstream_status: Optional[int] = error.get("upstream_status")


class DaemonUnavailable(LlmqError):
    """The socket could not be connected to: llmqd is not running, or the path is wrong."""
    SYMBOL = "DAEMON_UNAVAILABLE"

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class ConnectionLost(LlmqError):
    """The connection to llmqd broke (the daemon closed it, or a write failed).

    The Client is unusable afterwards; make a new one.
    """
    SYMBOL = "CONNECTION_LOST"

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class ProtocolError(LlmqError):
    """llmqd sent something that is not the JSON-RPC this client speaks."""
    SYMBOL = "PROTOCOL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(None, message)
