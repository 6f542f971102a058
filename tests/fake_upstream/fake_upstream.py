#!/usr/bin/env python3
"""Fake OpenRouter-compatible upstream for llmq's integration tests.

A real HTTP/1.1 server on 127.0.0.1 (keep-alive, one thread per connection) that
answers chat completions (plain and SSE), the model list and the key endpoint the
way OpenRouter does, misbehaves on command (see README.md for the fault language),
and records every request for the test to inspect through /_fake/* endpoints.
Standard library only. Prints one line {"port": N} on stdout once it listens.
"""

import argparse
import base64
import collections
import email.utils
import hashlib
import json
import math
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PROVIDER = "FakeProvider"
PROMPT_PRICE = 0.000001       # USD per prompt token, the cost formula of usage.cost.
COMPLETION_PRICE = 0.000002   # USD per completion token.
DEFAULT_WORDS = 8             # Reply length when the request has no max_tokens.
MAX_WORDS = 4096
DEFAULT_RETRY_AFTER = {429: 2, 503: 2}

def models_list(state):
    """MODELS, then the synthetic models /_fake/models asked for: fake/extra-NNNNNN,
    priced, with a name and description long enough that a big catalog is big."""
    with state.lock:
        extra = state.extra_models
    out = list(MODELS)
    for i in range(extra):
        out.append({
            "id": "fake/extra-%06d" % i,
            "name": "Fake: extra model %d" % i,
            "description": "A synthetic catalog entry of the fake upstream (%d)." % i,
            "context_length": 8192,
            "pricing": {"prompt": "0.000001", "completion": "0.000002"},
            "top_provider": {"context_length": 8192, "max_completion_tokens": 1024},
        })
    return out


MODELS = [
    {
        "id": "openai/gpt-4o-mini",
        "canonical_slug": "openai/gpt-4o-mini",
        "name": "OpenAI: GPT-4o-mini",
        "created": 1721260800,
        "description": "GPT-4o mini (fake upstream catalog entry).",
        "context_length": 128000,
        "architecture": {"modality": "text+image->text", "input_modalities": ["text", "image"],
                         "output_modalities": ["text"], "tokenizer": "GPT", "instruct_type": None},
        "pricing": {"prompt": "0.00000015", "completion": "0.0000006", "request": "0",
                    "image": "0.000217", "web_search": "0", "internal_reasoning": "0",
                    "input_cache_read": "0.000000075", "input_cache_write": "0"},
        "top_provider": {"context_length": 128000, "max_completion_tokens": 16384,
                         "is_moderated": True},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "top_p", "stop", "tools",
                                 "tool_choice", "response_format", "seed"],
    },
    {
        "id": "anthropic/claude-3.5-sonnet",
        "canonical_slug": "anthropic/claude-3.5-sonnet",
        "name": "Anthropic: Claude 3.5 Sonnet",
        "created": 1718841600,
        "description": "Claude 3.5 Sonnet (fake upstream catalog entry).",
        "context_length": 200000,
        "architecture": {"modality": "text+image->text", "input_modalities": ["text", "image"],
                         "output_modalities": ["text"], "tokenizer": "Claude", "instruct_type": None},
        "pricing": {"prompt": "0.000003", "completion": "0.000015", "request": "0",
                    "image": "0.0048", "web_search": "0", "internal_reasoning": "0",
                    "input_cache_read": "0.0000003", "input_cache_write": "0.00000375"},
        "top_provider": {"context_length": 200000, "max_completion_tokens": 8192,
                         "is_moderated": True},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "top_p", "stop", "tools",
                                 "tool_choice"],
    },
    {
        "id": "meta-llama/llama-3.1-8b-instruct:free",
        "canonical_slug": "meta-llama/llama-3.1-8b-instruct",
        "name": "Meta: Llama 3.1 8B Instruct (free)",
        "created": 1721692800,
        "description": "Llama 3.1 8B, free variant (fake upstream catalog entry).",
        "context_length": 131072,
        "architecture": {"modality": "text->text", "input_modalities": ["text"],
                         "output_modalities": ["text"], "tokenizer": "Llama3",
                         "instruct_type": "llama3"},
        "pricing": {"prompt": "0", "completion": "0", "request": "0", "image": "0",
                    "web_search": "0", "internal_reasoning": "0"},
        "top_provider": {"context_length": 131072, "max_completion_tokens": 4096,
                         "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "top_p", "stop"],
    },
    {
        # The fake's own model family: its catalog prices are the ones usage.cost
        # is computed with, so cost-from-catalog and cost-from-usage agree.
        "id": "fake/ok",
        "canonical_slug": "fake/ok",
        "name": "Fake: OK",
        "created": 1735689600,
        "description": "Deterministic model of the fake upstream; fake/fault-* variants misbehave.",
        "context_length": 32768,
        "architecture": {"modality": "text->text", "input_modalities": ["text"],
                         "output_modalities": ["text"], "tokenizer": "Other", "instruct_type": None},
        "pricing": {"prompt": "0.000001", "completion": "0.000002", "request": "0",
                    "image": "0", "web_search": "0", "internal_reasoning": "0",
                    "input_cache_read": "0", "input_cache_write": "0"},
        "top_provider": {"context_length": 32768, "max_completion_tokens": 4096,
                         "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature", "stop"],
    },
]

# The GET routes, which take a default fault only when /_fake/fault names them.
GET_ROUTES = {"/models", "/key", "/generation"}

KEY_INFO = {"data": {"label": "sk-or-v1-tes...", "limit": 10.0, "usage": 1.25,
                     "limit_remaining": 8.75, "is_free_tier": False,
                     "rate_limit": {"requests": -1, "interval": "10s"}}}

ERROR_MESSAGES = {
    400: "Invalid request (fake upstream fault 400)",
    401: "No auth credentials found",
    402: "Insufficient credits. This account never purchased credits. Add more using "
         "https://openrouter.ai/settings/credits",
    403: "Input was flagged by moderation",
    404: "No endpoints found for the requested model",
    408: "Request timed out",
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "No available model provider that meets your routing requirements",
}

# Tokens of the fault language without a status code (see README.md).
_SIMPLE_FAULTS = {"reset", "drop", "close", "no-done", "malformed", "midstream-error", "hang",
                  "upstream", "big-delta", "endless", "deep",
                  "cost-huge", "tokens-huge", "bad-utf8", "control-text"}

# The text of the `big-delta` fault: 100 KiB between two markers.
BIG_DELTA = "BEGIN-" + "x" * (100 * 1024) + "-END"
# The nesting of the `deep` fault: far past any parser's limit.
DEEP_NESTING = 200000
_STATUS_RE = re.compile(r"^([45]\d\d)(?:-(date|reset|bare|\d+))?$")
_TIMED_RE = re.compile(r"^(delay|drip)-(\d+)$")
_FAIL_RE = re.compile(r"^fail-(once|\d+)-(.+)$")


class FaultError(ValueError):
    pass


class Faults:
    """A parsed fault spec: what to do to one response."""

    def __init__(self):
        self.status = None        # int: answer with this error status.
        self.retry = "default"    # "default", "date", "reset", "bare" or seconds as int.
        self.delay_ms = 0
        self.drip_ms = 0
        self.flags = set()        # Members of _SIMPLE_FAULTS.

    def apply_token(self, token):
        m = _STATUS_RE.match(token)
        if m:
            self.status = int(m.group(1))
            suffix = m.group(2)
            self.retry = int(suffix) if suffix and suffix.isdigit() else (suffix or "default")
            return
        m = _TIMED_RE.match(token)
        if m:
            setattr(self, m.group(1) + "_ms", int(m.group(2)))
            return
        if token in _SIMPLE_FAULTS:
            self.flags.add(token)
            return
        if token in ("", "ok", "none"):
            return
        raise FaultError("unknown fault %r" % token)


def parse_spec(spec):
    """Splits a spec into (unconditional tokens, fail count or None, conditional tokens)."""
    tokens = [t.strip() for t in spec.split("+")] if spec else []
    for i, token in enumerate(tokens):
        m = _FAIL_RE.match(token)
        if m:
            times = 1 if m.group(1) == "once" else int(m.group(1))
            rest = [m.group(2)] + tokens[i + 1:]
            if any(_FAIL_RE.match(t) for t in rest):
                raise FaultError("only one fail-N- prefix per spec: %r" % spec)
            return tokens[:i], times, rest
    return tokens, None, []


def fault_from_model(model):
    """`fake/fault-429` -> "429"; models without a `fault-` last segment have none."""
    if not isinstance(model, str):
        return ""
    last = model.rsplit("/", 1)[-1]
    return last[len("fault-"):] if last.startswith("fault-") else ""


def message_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def plan_reply(body):
    """Deterministic reply words and token counts for a chat-completions body."""
    messages = body.get("messages") if isinstance(body, dict) else None
    messages = messages if isinstance(messages, list) else []
    prompt_tokens = 0
    last_user = ""
    for m in messages:
        if not isinstance(m, dict):
            continue
        text = message_text(m.get("content"))
        prompt_tokens += len(text.split())
        if m.get("role") == "user":
            last_user = text
    n = body.get("max_tokens", body.get("max_completion_tokens")) if isinstance(body, dict) else None
    n = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else DEFAULT_WORDS
    n = min(n, MAX_WORDS)
    source = last_user.split() or ["word%d" % (i + 1) for i in range(n)]
    words = [source[i % len(source)] for i in range(n)]
    return words, max(prompt_tokens, 1), len(words)


def usage_object(prompt, completion):
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": round(prompt * PROMPT_PRICE + completion * COMPLETION_PRICE, 12),
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


# Invalid UTF-8 that `bad-utf8` puts into the reply text: a stray continuation
# byte, a lone lead byte and an overlong NUL. json.dumps cannot write these, so a
# placeholder is replaced in the encoded body.
BAD_UTF8 = b"\x80\xff\xc0\x80"
BAD_UTF8_MARK = "@@BADUTF8@@"
# What `control-text` appends to the reply text: a NUL, terminal escapes (SGR, a
# window title, BEL) and a C1 CSI, all as valid JSON string escapes.
CONTROL_TEXT = " \u0000after-nul \u001b[31mred\u001b]0;pwned\u0007 \u009b2J end"


def hostile_usage(usage, faults):
    """The usage object with the hostile figures the faults ask for."""
    if "cost-huge" in faults.flags:
        usage["cost"] = 1e308
    if "tokens-huge" in faults.flags:
        usage["prompt_tokens"] = 2 ** 63 - 1
        usage["completion_tokens"] = 2 ** 63 - 1
        del usage["total_tokens"]
    return usage


def encode_body(obj, faults):
    body = json.dumps(obj, separators=(",", ":")).encode()
    if "bad-utf8" in faults.flags:
        body = body.replace(BAD_UTF8_MARK.encode(), BAD_UTF8)
    return body


class _ClientGone(Exception):
    """The client went away; the handler stops and the connection is dropped."""


class _Abort(Exception):
    """The handler closed the connection itself (reset, drop, close faults)."""


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, record_path):
        self.lock = threading.Lock()
        self.record_path = record_path
        self.records = []
        self.in_progress = 0
        self.peak = 0
        self.disconnects = 0
        self.fail_counts = {}
        self.next_request_id = 1
        self.next_generation = 1     # Never reset, so generation ids stay unique per process.
        self.next_connection = 1
        self.connections = 0
        self.generations = {}
        self.global_fault = ""
        self.global_times = None     # None: every request; else how many remain.
        self.route_faults = {}       # GET route -> [spec, times]: /_fake/fault with "route".
        self.rate_rps = 0            # /_fake/ratelimit: requests per window per key; 0: off.
        self.rate_window = 1.0       # Seconds.
        self.rate_log = {}           # Authorization -> deque of accepted request times.
        self.rate_limited = 0        # 429s the rate limiter answered.
        self.error_message = None    # /_fake/error_message: the message of every error body.
        self.key_faults = {}         # /_fake/keyfault: bearer key -> fault spec.
        self.extra_models = 0        # /_fake/models: synthetic models after MODELS.
        self.stopping = threading.Event()

    def reset(self):
        with self.lock:
            self.records = []
            self.peak = self.in_progress
            self.disconnects = 0
            self.fail_counts = {}
            self.generations = {}
            self.global_fault = ""
            self.global_times = None
            self.route_faults = {}
            self.connections = 0
            self.rate_rps = 0
            self.rate_log = {}
            self.rate_limited = 0
            self.error_message = None
            self.key_faults = {}

    def snapshot(self):
        with self.lock:
            return json.dumps(self.records)

    def stats(self):
        with self.lock:
            return {"total": len(self.records), "peak_concurrency": self.peak,
                    "disconnects": self.disconnects, "in_flight": self.in_progress,
                    "connections": self.connections, "rate_limited": self.rate_limited}

    def admit(self, key):
        """The /_fake/ratelimit check: None if the request may proceed, else the
        seconds until the key's window has room again."""
        with self.lock:
            if self.rate_rps <= 0:
                return None
            now = time.monotonic()
            log = self.rate_log.setdefault(key, collections.deque())
            while log and log[0] <= now - self.rate_window:
                log.popleft()
            if len(log) < self.rate_rps:
                log.append(now)
                return None
            self.rate_limited += 1
            return log[0] + self.rate_window - now


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenRouter/1.0"

    def version_string(self):
        return self.server_version

    # --- plumbing -------------------------------------------------------------------

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        st = self.server.state
        with st.lock:
            self.conn_id = st.next_connection
            st.next_connection += 1
            st.connections += 1

    def handle(self):
        try:
            super().handle()
        except (_Abort, _ClientGone, ConnectionError, TimeoutError):
            self.close_connection = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_upstream: %s %s\n" % (self.address_string(), fmt % args))

    def _sock(self):
        return self.connection

    def _write(self, data):
        try:
            self.wfile.write(data)
        except OSError:
            self._mark_disconnected()
            raise _ClientGone()

    def _mark_disconnected(self):
        rec = getattr(self, "record", None)
        if rec is None:
            return
        st = self.server.state
        with st.lock:
            if not rec["disconnected"]:
                rec["disconnected"] = True
                st.disconnects += 1

    def _wait(self, seconds):
        """Sleeps `seconds` (None: forever) while watching the socket; True if the
        client went away (EOF or error) or the server is stopping."""
        deadline = None if seconds is None else time.monotonic() + seconds
        sock = self._sock()
        while True:
            if self.server.state.stopping.is_set():
                return True
            slice_s = 0.05
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                slice_s = min(slice_s, left)
            try:
                readable, _, _ = select.select([sock], [], [], slice_s)
            except (OSError, ValueError):
                return True
            if not readable:
                continue
            try:
                data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                return True
            if not data:
                return True
            time.sleep(slice_s)  # Pipelined bytes, not a disconnect; do not spin on them.

    def _wait_or_gone(self, seconds):
        if self._wait(seconds):
            if self.server.state.stopping.is_set():
                raise _Abort()          # Shutting down: not the client's doing.
            self._mark_disconnected()
            raise _ClientGone()

    def _hard_close(self, rst):
        """Closes the TCP connection now: with RST (SO_LINGER 0) or a plain FIN."""
        sock = self._sock()
        try:
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
            os.close(sock.detach())
        except OSError:
            pass
        raise _Abort()

    def _send_json(self, status, obj, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._write(body)
        self._set_status(status)

    def _set_status(self, status):
        rec = getattr(self, "record", None)
        if rec is not None:
            with self.server.state.lock:
                rec["status"] = status

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # --- routing --------------------------------------------------------------------

    def _route(self):
        path = urlsplit(self.path).path
        prefix = self.server.prefix
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix):]
        return path

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        body = self._read_body()
        route = self._route()
        if route.startswith("/_fake/"):
            self._control(method, route, body)
            return
        self._begin_record(method, body)
        try:
            if method == "POST" and route == "/chat/completions":
                self._chat(body)
            elif method == "POST" and route == "/embeddings":
                self._embeddings(body)
            elif method == "POST" and route == "/responses" and not self._chat_only(body):
                self._responses(body)
            elif method == "GET" and route == "/models":
                self._simple_get(route, lambda: (200, {"data": models_list(self.server.state)}))
            elif method == "GET" and route == "/key":
                self._simple_get(route, lambda: (200, KEY_INFO))
            elif method == "GET" and route == "/generation":
                self._simple_get(route, self._generation)
            else:
                self._send_json(404, {"error": {"code": 404, "message": "Not Found: %s %s"
                                                % (method, self.path)}})
        finally:
            self._end_record()

    # --- recording ------------------------------------------------------------------

    def _begin_record(self, method, body):
        st = self.server.state
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        with st.lock:
            st.in_progress += 1
            st.peak = max(st.peak, st.in_progress)
            self.record = {
                "id": st.next_request_id,
                "method": method,
                "path": self.path,
                "headers": headers,
                "body": body.decode("utf-8", errors="replace"),
                "t": time.monotonic(),
                "concurrency": st.in_progress,
                "disconnected": False,
                "connection": self.conn_id,
                "status": 0,
                "fault": "",
                "model": "",
                "stream": False,
                "t_end": None,
            }
            st.next_request_id += 1
            st.records.append(self.record)

    def _end_record(self):
        st = self.server.state
        with st.lock:
            self.record["t_end"] = time.monotonic()
            if st.record_path:
                with open(st.record_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(self.record) + "\n")
            # Last, so a shutdown that waits for in_progress == 0 finds the line written.
            st.in_progress -= 1

    # --- control endpoints ----------------------------------------------------------

    def _control(self, method, route, body):
        st = self.server.state
        if method == "GET" and route == "/_fake/requests":
            self._send_json(200, None, raw=st.snapshot().encode())
        elif method == "GET" and route == "/_fake/stats":
            self._send_json(200, st.stats())
        elif method == "POST" and route == "/_fake/reset":
            st.reset()
            self._send_json(200, {"ok": True})
        elif method == "POST" and route == "/_fake/ratelimit":
            try:
                req = json.loads(body or b"{}")
                rps = req.get("rps", 0)
                window = req.get("window_ms", 1000)
                if not isinstance(rps, int) or rps < 0 or not isinstance(window, int) or window <= 0:
                    raise ValueError("rps must be a non-negative integer, window_ms a positive one")
            except (ValueError, AttributeError) as e:
                self._send_json(400, {"error": {"code": 400, "message": str(e)}})
                return
            with st.lock:
                st.rate_rps = rps
                st.rate_window = window / 1000.0
                st.rate_log = {}
            self._send_json(200, {"ok": True, "rps": rps, "window_ms": window})
        elif method == "POST" and route in ("/_fake/error_message", "/_fake/keyfault"):
            try:
                req = json.loads(body or b"{}")
                if route == "/_fake/error_message":
                    message = req.get("message")
                    if message is not None and not isinstance(message, str):
                        raise FaultError("message must be a string or null")
                else:
                    key, spec = req.get("key"), req.get("fault") or ""
                    if not isinstance(key, str) or not key:
                        raise FaultError("key must be a non-empty string")
                    parse_checked(spec)
            except (ValueError, AttributeError) as e:
                self._send_json(400, {"error": {"code": 400, "message": str(e)}})
                return
            with st.lock:
                if route == "/_fake/error_message":
                    st.error_message = message
                elif spec:
                    st.key_faults[key] = spec
                else:
                    st.key_faults.pop(key, None)
            self._send_json(200, {"ok": True})
        elif method == "POST" and route == "/_fake/models":
            try:
                req = json.loads(body or b"{}")
                extra = req.get("extra", 0)
                if not isinstance(extra, int) or not 0 <= extra <= 1000000:
                    raise ValueError("extra must be an integer in 0..1000000")
            except (ValueError, AttributeError) as e:
                self._send_json(400, {"error": {"code": 400, "message": str(e)}})
                return
            with st.lock:
                st.extra_models = extra
            self._send_json(200, {"ok": True, "extra": extra})
        elif method == "POST" and route == "/_fake/fault":
            try:
                req = json.loads(body or b"{}")
                spec = req.get("fault") or ""
                parse_checked(spec)
                times = req.get("times")
                if times is not None and (not isinstance(times, int) or times < 0):
                    raise FaultError("times must be a non-negative integer")
                target = req.get("route")
                if target is not None and target not in GET_ROUTES:
                    raise FaultError("route must be one of " + ", ".join(sorted(GET_ROUTES)))
            except (ValueError, AttributeError) as e:
                self._send_json(400, {"error": {"code": 400, "message": str(e)}})
                return
            with st.lock:
                if target is not None:
                    st.route_faults[target] = [spec, times]
                else:
                    st.global_fault = spec
                    st.global_times = times
            self._send_json(200, {"ok": True, "fault": spec, "times": times, "route": target})
        else:
            self._send_json(404, {"error": {"code": 404, "message": "unknown control endpoint"}})

    # --- faults ---------------------------------------------------------------------

    def _resolve_faults(self, model, get_route=None):
        """Header X-Fake-Fault > the model's fault- suffix > the /_fake/fault default
        (for a GET route: the default set for that route)."""
        st = self.server.state
        spec = self.headers.get("X-Fake-Fault")
        explicit = spec is not None      # Even an empty header means "exactly this".
        if not explicit:
            auth = self.headers.get("Authorization", "")
            with st.lock:
                spec = st.key_faults.get(auth[7:]) if auth.startswith("Bearer ") else None
            if not spec:
                spec = fault_from_model(model)
        if not spec and not explicit and get_route is not None:
            with st.lock:
                entry = st.route_faults.get(get_route)
                if entry and entry[0] and entry[1] != 0:
                    spec = entry[0]
                    if entry[1] is not None:
                        entry[1] -= 1
        if not spec and not explicit and model is not None:
            with st.lock:
                if st.global_fault and st.global_times != 0:
                    spec = st.global_fault
                    if st.global_times is not None:
                        st.global_times -= 1
        spec = spec.strip()
        with st.lock:
            self.record["fault"] = spec
        always, times, conditional = parse_spec(spec)
        faults = Faults()
        for token in always:
            faults.apply_token(token)
        if times is not None:
            for token in conditional:      # Validate before counting.
                Faults().apply_token(token)
            key = self.headers.get("X-Fake-Key")
            if key is None:
                key = "%s|%s" % (self.headers.get("Authorization", ""), model)
            key += "|" + spec
            with st.lock:
                seen = st.fail_counts.get(key, 0)
                st.fail_counts[key] = seen + 1
            if seen < times:
                for token in conditional:
                    faults.apply_token(token)
        return faults

    def _error_headers(self, faults):
        headers = {}
        retry = faults.retry
        seconds = DEFAULT_RETRY_AFTER.get(faults.status)
        if isinstance(retry, int):
            seconds = retry
        elif retry == "date":
            seconds = seconds if seconds is not None else 2
        if retry in ("reset", "bare"):
            after = None
        elif retry == "date":
            after = email.utils.formatdate(math.ceil(time.time()) + seconds, usegmt=True)
        else:
            after = None if seconds is None else str(seconds)
        if after is not None:
            headers["Retry-After"] = after
        if faults.status == 429 and retry != "bare":
            reset_ms = int((time.time() + (seconds if seconds is not None else 2)) * 1000)
            headers["X-RateLimit-Limit"] = "20"
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(reset_ms)
        return headers

    def _error_body(self, status, model, faults=None):
        message = ERROR_MESSAGES.get(status, "Fake upstream error %d" % status)
        metadata = None
        if status == 402:
            metadata = {"limit_source": "key"}
        elif status == 403:
            metadata = {"reasons": ["harassment"], "flagged_input": "...",
                        "provider_name": PROVIDER, "model_slug": model or ""}
        elif status == 404 and model:
            message = "No endpoints found for %s." % model
        elif status == 429 and faults is not None and "upstream" in faults.flags:
            # The provider behind OpenRouter is limited: about the model, not the key.
            message = "Provider returned error"
            metadata = {"raw": "%s is temporarily rate-limited upstream" % (model or "model"),
                        "provider_name": PROVIDER}
        elif status == 429:
            # OpenRouter's own limit on the key; it echoes the rate-limit headers.
            message = "Rate limit exceeded: limit_rpm/%s" % (model or "model")
            headers = self._error_headers(faults) if faults is not None else {}
            metadata = {"headers": {k: v for k, v in headers.items() if k.startswith("X-RateLimit")}}
        elif status in (502, 503):
            metadata = {"raw": "upstream connect error", "provider_name": PROVIDER}
        with self.server.state.lock:
            if self.server.state.error_message is not None:
                message = self.server.state.error_message
        error = {"code": status, "message": message}
        if metadata is not None:
            error["metadata"] = metadata
        return {"error": error, "user_id": "user_fake"}

    def _pre_response(self, faults):
        """Delay, hang, drop and close: everything that happens before a status line."""
        if faults.delay_ms:
            self._wait_or_gone(faults.delay_ms / 1000.0)
        if "hang" in faults.flags:
            self._wait_or_gone(None)
        if "drop" in faults.flags:
            self._hard_close(rst=True)
        if "close" in faults.flags:
            self._hard_close(rst=False)

    def _simple_get(self, route, producer):
        try:
            faults = self._resolve_faults(None, route)
        except FaultError as e:
            self._unknown_fault(e)
            return
        self._pre_response(faults)
        if faults.status:
            self._send_json(faults.status, self._error_body(faults.status, None),
                            self._error_headers(faults))
            return
        if "malformed" in faults.flags:
            self._send_json(200, None, raw=b"<html><body>Bad Gateway</body></html>")
            return
        if "deep" in faults.flags:
            self._send_json(200, None, raw=b'{"data":' + b"[" * DEEP_NESTING)
            return
        status, obj = producer()
        self._send_json(status, obj)

    def _unknown_fault(self, error):
        sys.stderr.write("fake_upstream: %s\n" % error)
        self._send_json(400, {"error": {"code": 400, "message": "fake upstream: %s" % error}})

    def _generation(self):
        query = parse_qs(urlsplit(self.path).query)
        gen_id = (query.get("id") or [""])[0]
        with self.server.state.lock:
            gen = self.server.state.generations.get(gen_id)
            gen = dict(gen) if gen else None
        if gen is None:
            return 404, {"error": {"code": 404, "message": "Generation %s not found" % gen_id}}
        return 200, {"data": gen}

    # --- chat completions -----------------------------------------------------------

    def _begin(self, raw, streams=True):
        """What every POST endpoint does first: read the body, record its model
        and stream flag, answer a status fault (or an unknown one), then the rate
        limit's 429 and --require-auth's 401. Returns (body, model, stream,
        faults), or None when it has answered."""
        st = self.server.state
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        model = body.get("model") if isinstance(body, dict) else None
        model = model if isinstance(model, str) else ""
        stream = streams and isinstance(body, dict) and bool(body.get("stream"))
        with st.lock:
            self.record["model"] = model
            self.record["stream"] = stream
        try:
            faults = self._resolve_faults(model)
        except FaultError as e:
            self._unknown_fault(e)
            return None
        self._pre_response(faults)
        if faults.status:
            self._send_json(faults.status, self._error_body(faults.status, model, faults),
                            self._error_headers(faults))
            return None
        wait = st.admit(self.headers.get("Authorization", ""))
        if wait is not None:
            faults.status = 429
            faults.retry = max(1, math.ceil(wait))
            headers = self._error_headers(faults)
            headers["X-RateLimit-Limit"] = str(st.rate_rps)
            headers["X-RateLimit-Reset"] = str(int((time.time() + wait) * 1000))
            self._send_json(429, self._error_body(429, model, faults), headers)
            return None
        if self.server.require_auth and not self.headers.get("Authorization", "").startswith("Bearer "):
            self._send_json(401, self._error_body(401, model))
            return None
        return body, model, stream, faults

    def _chat(self, raw):
        st = self.server.state
        begun = self._begin(raw)
        if begun is None:
            return
        body, model, stream, faults = begun
        if not isinstance(body, dict):
            self._send_json(400, {"error": {"code": 400, "message": "Invalid JSON body"}})
            return
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            self._send_json(400, {"error": {"code": 400,
                                            "message": "Input required: specify \"messages\""}})
            return
        words, prompt_tokens, completion_tokens = plan_reply(body)
        model = model or "openai/gpt-4o-mini"
        with st.lock:
            gen_id = "gen-%d" % st.next_generation
            st.next_generation += 1
        gen = {"id": gen_id, "model": model, "streamed": stream, "created_at": time.time(),
               "tokens_prompt": prompt_tokens, "tokens_completion": completion_tokens,
               "native_tokens_prompt": prompt_tokens, "native_tokens_completion": completion_tokens,
               "total_cost": usage_object(prompt_tokens, completion_tokens)["cost"],
               "provider_name": PROVIDER, "finish_reason": "stop", "cancelled": False}
        with st.lock:
            st.generations[gen_id] = gen
        try:
            if model.rsplit("/", 1)[-1].startswith("rich"):
                self._chat_rich(body, stream, gen_id, model, words, prompt_tokens, completion_tokens)
            elif stream:
                self._chat_stream(gen_id, model, words, prompt_tokens, completion_tokens, faults)
            else:
                self._chat_plain(gen_id, model, words, prompt_tokens, completion_tokens, faults)
        except _ClientGone:
            with st.lock:
                gen["cancelled"] = True
            raise

    def _chat_only(self, raw):
        """An upstream without the Responses API: --no-responses, or a model whose
        last path segment starts with `chatonly` (/responses is then a 404)."""
        if self.server.no_responses:
            return True
        try:
            model = json.loads(raw).get("model")
        except (ValueError, AttributeError):
            return False
        return isinstance(model, str) and model.rsplit("/", 1)[-1].startswith("chatonly")

    def _responses(self, raw):
        """OpenAI's Responses API, natively: the same words as a chat completion of
        the same conversation, as a Response object or its event stream. A `rich`
        model with tools calls the first one; its reasoning item comes first."""
        st = self.server.state
        begun = self._begin(raw)
        if begun is None:
            return
        body, model, stream, faults = begun
        if not isinstance(body, dict) or "input" not in body:
            self._send_json(400, {"error": {"code": 400, "message": "Input required: specify \"input\""}})
            return
        if "previous_response_id" in body:
            self._send_json(400, {"error": {"code": 400, "message": "previous_response_id is not supported"}})
            return
        inputs = body["input"]
        messages = [{"role": "user", "content": inputs}] if isinstance(inputs, str) else [
            {"role": i.get("role", ""), "content": i.get("content")} for i in inputs
            if isinstance(i, dict) and "role" in i]
        if isinstance(body.get("instructions"), str):
            messages.insert(0, {"role": "system", "content": body["instructions"]})
        plan = {"messages": messages}
        if isinstance(body.get("max_output_tokens"), int):
            plan["max_tokens"] = body["max_output_tokens"]
        words, prompt_tokens, completion_tokens = plan_reply(plan)
        model = model or "openai/gpt-4o-mini"
        with st.lock:
            gen_id = "gen-%d" % st.next_generation
            st.next_generation += 1
        tools = body.get("tools")
        rich = model.rsplit("/", 1)[-1].startswith("rich")
        tool = tools[0].get("name") if rich and isinstance(tools, list) and tools and isinstance(tools[0], dict) else None
        text = " ".join(words)
        output = []
        if rich:
            output.append({"type": "reasoning", "id": "rs_" + gen_id,
                           "summary": [{"type": "summary_text", "text": "thinking about 0"}]})
        if tool:
            output.append({"type": "function_call", "id": "fc_" + gen_id, "call_id": "call_0", "name": tool,
                           "arguments": '{"x":0}', "status": "completed"})
        else:
            output.append({"type": "message", "id": "msg_" + gen_id, "status": "completed", "role": "assistant",
                           "content": [{"type": "output_text", "text": text, "annotations": []}]})
        usage = usage_object(prompt_tokens, completion_tokens)
        response = {"id": "resp_" + gen_id, "object": "response", "created_at": int(time.time()),
                    "status": "completed", "model": model, "provider": PROVIDER, "output": output,
                    "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens,
                              "input_tokens_details": {"cached_tokens": 0},
                              "output_tokens_details": {"reasoning_tokens": 0}, "cost": usage["cost"]}}
        if not stream:
            self._send_json(200, response)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._set_status(200)
        seq = [0]

        def event(obj):
            obj["sequence_number"] = seq[0]
            seq[0] += 1
            data = ("event: %s\ndata: " % obj["type"]).encode() + json.dumps(obj).encode() + b"\n\n"
            self._write(b"%x\r\n%s\r\n" % (len(data), data))

        start = dict(response, status="in_progress", output=[], usage=None)
        event({"type": "response.created", "response": start})
        event({"type": "response.in_progress", "response": start})
        for index, item in enumerate(output):
            event({"type": "response.output_item.added", "output_index": index,
                   "item": dict(item, status="in_progress")})
            if item["type"] == "reasoning":
                for piece in ("thinking ", "about 0"):
                    event({"type": "response.reasoning_summary_text.delta", "item_id": item["id"],
                           "output_index": index, "summary_index": 0, "delta": piece})
            elif item["type"] == "message":
                for k, w in enumerate(words):
                    event({"type": "response.output_text.delta", "item_id": item["id"], "output_index": index,
                           "content_index": 0, "delta": w if k == 0 else " " + w, "logprobs": []})
                event({"type": "response.output_text.done", "item_id": item["id"], "output_index": index,
                       "content_index": 0, "text": text, "logprobs": []})
            elif item["type"] == "function_call":
                event({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                       "output_index": index, "delta": item["arguments"]})
            event({"type": "response.output_item.done", "output_index": index, "item": item})
        event({"type": "response.completed", "response": response})
        self._write(b"0\r\n\r\n")

    def _embeddings(self, raw):
        """OpenAI's embeddings list. Status faults, rate limits and auth as for chat;
        the vectors are deterministic per input; usage has the prompt tokens (one
        per word of a string, one per token id) and their cost."""
        st = self.server.state
        begun = self._begin(raw, streams=False)
        if begun is None:
            return
        body, model, _, faults = begun
        inputs = body.get("input") if isinstance(body, dict) else None
        if isinstance(inputs, str) or (isinstance(inputs, list) and inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            self._send_json(400, {"error": {"code": 400, "message": "Input required: specify \"input\""}})
            return
        dims = body.get("dimensions") if isinstance(body.get("dimensions"), int) else 8
        dims = max(1, min(dims, 4096))
        base64_format = body.get("encoding_format") == "base64"
        data, prompt_tokens = [], 0
        for i, item in enumerate(inputs):
            if isinstance(item, str):
                prompt_tokens += max(1, len(item.split()))
                seed = item.encode("utf-8")
            else:
                ids = item if isinstance(item, list) else [item]
                prompt_tokens += len(ids)
                seed = json.dumps(ids).encode("utf-8")
            rng = random.Random(hashlib.sha256(seed).digest())
            vec = [rng.uniform(-1.0, 1.0) for _ in range(dims)]
            norm = math.sqrt(sum(x * x for x in vec)) or 1.0
            vec = [x / norm for x in vec]
            if base64_format:
                vec = base64.b64encode(struct.pack("<%df" % dims, *vec)).decode("ascii")
            data.append({"object": "embedding", "index": i, "embedding": vec})
        with st.lock:
            gen_id = "gen-%d" % st.next_generation
            st.next_generation += 1
        usage = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens,
                 "cost": round(prompt_tokens * PROMPT_PRICE, 12)}
        obj = {"object": "list", "id": gen_id, "provider": PROVIDER, "model": model or "fake/embed",
               "data": data, "usage": hostile_usage(usage, faults)}
        body_bytes = encode_body(obj, faults)
        if "malformed" in faults.flags:
            body_bytes = body_bytes[: len(body_bytes) // 2]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body_bytes)))
        self.end_headers()
        self._set_status(200)
        self._write(body_bytes)

    def _chat_plain(self, gen_id, model, words, prompt_tokens, completion_tokens, faults):
        created = int(time.time())
        content = " ".join(words)
        if "bad-utf8" in faults.flags:
            content += BAD_UTF8_MARK
        if "control-text" in faults.flags:
            content += CONTROL_TEXT
        finish = "stop"
        obj = {
            "id": gen_id, "provider": PROVIDER, "model": model, "object": "chat.completion",
            "created": created,
            "choices": [{"logprobs": None, "finish_reason": finish, "native_finish_reason": finish,
                         "index": 0, "message": {"role": "assistant", "content": content,
                                                 "refusal": None, "reasoning": None}}],
            "usage": hostile_usage(usage_object(prompt_tokens, completion_tokens), faults),
        }
        if "midstream-error" in faults.flags:
            obj["error"] = {"code": 502, "message": "Provider disconnected mid-generation"}
            obj["choices"][0]["finish_reason"] = "error"
            obj["choices"][0]["message"]["content"] = ""
        if "big-delta" in faults.flags:
            obj["choices"][0]["message"]["content"] = BIG_DELTA
        body = encode_body(obj, faults)
        if "malformed" in faults.flags:
            body = body[: len(body) // 2]
        if "deep" in faults.flags:
            body = b'{"choices":' + b"[" * DEEP_NESTING
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Generation-Id", gen_id)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._set_status(200)
        if "reset" in faults.flags:
            self._write(body[: len(body) // 2])
            time.sleep(0.02)  # Let the partial body leave before the RST overtakes it.
            self._hard_close(rst=True)
        if faults.drip_ms:
            step = max(1, len(body) // 8)
            for i in range(0, len(body), step):
                if i:
                    self._wait_or_gone(faults.drip_ms / 1000.0)
                self._write(body[i:i + step])
        else:
            self._write(body)

    def _chat_rich(self, body, stream, gen_id, model, words, prompt_tokens, completion_tokens):
        """Reasoning (text and details), logprobs, tool calls and n choices, the
        same streamed or not: what a stream must carry as the plain answer does."""
        created = int(time.time())
        choices, logprobs = rich_plan(body, words)
        usage = usage_object(prompt_tokens, completion_tokens)
        if not stream:
            out = []
            for c in choices:
                message = {"role": "assistant",
                           "content": None if c["tool_calls"] else "".join(c["pieces"]),
                           "refusal": None, "reasoning": "".join(c["reasoning"]),
                           "reasoning_details": [{"type": "reasoning.text", "text": "".join(c["reasoning"]),
                                                  "format": "unknown", "index": 0}]}
                if c["tool_calls"]:
                    message["tool_calls"] = c["tool_calls"]
                out.append({"index": c["index"], "message": message, "finish_reason": c["finish"],
                            "native_finish_reason": c["finish"],
                            "logprobs": rich_logprobs(c["pieces"]) if logprobs else None})
            self._send_json(200, {"id": gen_id, "provider": PROVIDER, "model": model,
                                  "object": "chat.completion", "created": created,
                                  "choices": out, "usage": usage})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._set_status(200)

        def event(index, delta, finish=None, lp=None):
            obj = {"id": gen_id, "provider": PROVIDER, "model": model, "object": "chat.completion.chunk",
                   "created": created, "choices": [{"index": index, "delta": delta, "finish_reason": finish,
                                                    "native_finish_reason": finish, "logprobs": lp}]}
            data = b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
            self._write(b"%x\r\n%s\r\n" % (len(data), data))

        for c in choices:
            i = c["index"]
            event(i, {"role": "assistant", "content": ""})
            for r in c["reasoning"]:
                event(i, {"content": "", "reasoning": r,
                          "reasoning_details": [{"type": "reasoning.text", "text": r, "format": "unknown",
                                                 "index": 0}]})
        for k in range(max(len(c["pieces"]) for c in choices)):
            for c in choices:  # Interleaved, as n > 1 streams are.
                if k < len(c["pieces"]):
                    p = c["pieces"][k]
                    event(c["index"], {"content": p}, lp=rich_logprobs([p]) if logprobs else None)
        for c in choices:
            if c["tool_calls"]:
                call = c["tool_calls"][0]
                event(c["index"], {"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                                   "function": {"name": call["function"]["name"],
                                                                "arguments": ""}}]})
                args = call["function"]["arguments"]
                for part in (args[:3], args[3:]):
                    event(c["index"], {"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        for c in choices:
            event(c["index"], {}, c["finish"])
        data = b"data: " + json.dumps({"id": gen_id, "object": "chat.completion.chunk", "created": created,
                                       "model": model, "choices": [], "usage": usage}).encode() + b"\n\n"
        self._write(b"%x\r\n%s\r\n" % (len(data), data))
        data = b"data: [DONE]\n\n"
        self._write(b"%x\r\n%s\r\n" % (len(data), data))
        self._write(b"0\r\n\r\n")

    def _chat_stream(self, gen_id, model, words, prompt_tokens, completion_tokens, faults):
        created = int(time.time())

        def chunk(delta, finish=None):
            return {"id": gen_id, "provider": PROVIDER, "model": model,
                    "object": "chat.completion.chunk", "created": created,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                 "native_finish_reason": finish, "logprobs": None}]}

        def send(data):
            # One HTTP chunk per SSE event, so a test can see the event boundaries.
            self._write(b"%x\r\n%s\r\n" % (len(data), data))

        def event(obj):
            send(b"data: " + encode_body(obj, faults) + b"\n\n")

        def pause():
            if faults.drip_ms:
                self._wait_or_gone(faults.drip_ms / 1000.0)

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Generation-Id", gen_id)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._set_status(200)
        send(b": OPENROUTER PROCESSING\n\n")
        if "deep" in faults.flags:
            send(b'data: {"choices":' + b"[" * DEEP_NESTING + b"\n\n")
        if "big-delta" in faults.flags:
            # One event of 100 KiB, written in 16 KiB pieces that each leave on their
            # own, so the client reads it in several reads.
            data = b"data: " + json.dumps(chunk({"role": "assistant", "content": BIG_DELTA}),
                                          separators=(",", ":")).encode() + b"\n\n"
            for i in range(0, len(data), 16384):
                send(data[i:i + 16384])
                time.sleep(0.005)
        if "endless" in faults.flags:
            # Content for ever (1 KiB per event) until the client goes away.
            piece = chunk({"content": "y" * 1024})
            while True:
                pause()
                event(piece)
        cut_after = 2  # Word chunks sent before reset / malformed / midstream-error strike.
        for i, word in enumerate(words):
            pause()
            if i == cut_after and "reset" in faults.flags:
                time.sleep(0.02)
                self._hard_close(rst=True)
            if i == cut_after and "midstream-error" in faults.flags:
                obj = chunk({"role": "assistant", "content": ""}, "error")
                obj["error"] = {"code": 502, "message": "Provider disconnected mid-generation"}
                event(obj)
                send(b"")  # The terminating zero-length chunk: a clean end, no [DONE].
                with self.server.state.lock:
                    self.server.state.generations[gen_id]["finish_reason"] = "error"
                return
            if i == cut_after and "malformed" in faults.flags:
                send(b'data: {"id":"%s","object":"chat.completion.chunk","choices":[{"delta":'
                     b'{"content":"bro\n\n' % gen_id.encode())
            delta = {"content": word if i == 0 else " " + word}
            if i == 0:
                delta = {"role": "assistant", "content": word}
            if i == 0 and "bad-utf8" in faults.flags:
                delta["content"] += BAD_UTF8_MARK
            event(chunk(delta))
        if "reset" in faults.flags:   # Fewer words than cut_after: reset at the end.
            time.sleep(0.02)
            self._hard_close(rst=True)
        pause()
        event(chunk({"role": "assistant", "content": ""}, "stop"))
        usage = {"id": gen_id, "provider": PROVIDER, "model": model,
                 "object": "chat.completion.chunk", "created": created, "choices": [],
                 "usage": hostile_usage(usage_object(prompt_tokens, completion_tokens), faults)}
        event(usage)
        if "no-done" not in faults.flags:
            send(b"data: [DONE]\n\n")
        send(b"")


def rich_plan(body, words):
    """What a `rich` model answers (the same streamed or not): per choice, its
    content words (or tool calls when the request has tools), reasoning pieces,
    and logprobs when asked for."""
    n = body.get("n", 1)
    n = n if isinstance(n, int) and 1 <= n <= 8 else 1
    tools = body.get("tools")
    tool_name = None
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        tool_name = (tools[0].get("function") or {}).get("name") or "tool"
    choices = []
    for i in range(n):
        pieces = [(w if j == 0 else " " + w) for j, w in enumerate(words)]
        if i > 0:
            pieces = ["#%d " % i] + pieces
        choices.append({
            "index": i,
            "pieces": [] if tool_name else pieces,
            "reasoning": ["thinking ", "about %d" % i],
            "tool_calls": [{"id": "call_%d" % i, "type": "function",
                            "function": {"name": tool_name, "arguments": '{"x":%d}' % i}}]
            if tool_name else None,
            "finish": "tool_calls" if tool_name else ("length" if i == 1 else "stop"),
        })
    return choices, bool(body.get("logprobs"))


def rich_logprobs(pieces):
    return {"content": [{"token": p, "logprob": -0.25 * (k + 1), "bytes": list(p.encode()),
                         "top_logprobs": []} for k, p in enumerate(pieces)], "refusal": None}


def parse_checked(spec):
    """Raises FaultError unless every token of `spec` is valid."""
    always, _, conditional = parse_spec(spec)
    faults = Faults()
    for token in always + conditional:
        faults.apply_token(token)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, _ClientGone, _Abort, TimeoutError)):
            return
        super().handle_error(request, client_address)   # A bug in the fake: show it.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--prefix", default="", help='base path, e.g. "/api/v1"')
    parser.add_argument("--record", default=None, help="also append each request as a JSON line")
    parser.add_argument("--require-auth", action="store_true",
                        help="answer 401 to chat completions without a Bearer token")
    parser.add_argument("--no-responses", action="store_true",
                        help="answer 404 to POST /responses, as an upstream without the Responses API")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    server = Server((args.host, args.port), Handler)
    server.state = State(args.record)
    server.prefix = args.prefix.rstrip("/")
    server.verbose = args.verbose
    server.require_auth = args.require_auth
    server.no_responses = args.no_responses

    def on_signal(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.stdout.write(json.dumps({"port": server.server_address[1]}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    except SystemExit:
        pass
    finally:
        # Let handlers finish their records (waits end at once on `stopping`), but
        # never for long: a handler stuck in a write is abandoned with its thread.
        server.state.stopping.set()
        deadline = time.monotonic() + 1.0
        while server.state.in_progress > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
