"""Client: the llmq methods as Python calls, plus waiting, streaming and subscriptions.

Every method sends one JSON-RPC request over the Client's one connection and
returns the daemon's ``result`` as plain dicts and lists, exactly as
ipc/PROTOCOL.md describes them; errors raise the LlmqError subclasses of
errors.py. Events are Event objects handed out by Subscription iterators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from .connection import Connection, deadline_after, default_socket_path, seconds_left
from .errors import JobFailed, ProtocolError

# States after which nothing more happens to a job (until someone retries it).
TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled", "expired"})

# Events that can end a job. "error" ends it only when data.retryable is false.
TERMINAL_EVENTS = ("final_response", "error", "cancelled", "expired")


@dataclass(frozen=True)
class Event:
    """One job event (the ``params`` of an ``event`` notification).

    ``name`` is the protocol's ``event`` member: "queued", "started",
    "message_chunk", "usage", "final_response", "retrying", "error",
    "cancelled", "expired", "held" or "budget_alert". ``data`` is as the table of
    events in ipc/PROTOCOL.md says; ``seq`` grows by one per event of the job.
    """

    name: str
    job_id: str
    seq: int
    ts: str
    data: Dict[str, Any] = field(default_factory=dict)
    subscription: Optional[str] = None

    @property
    def terminal(self) -> bool:
        """True if the job ended with this event (success, failure, cancel, expiry)."""
        if self.name == "error":
            return not self.data.get("retryable", False)
        return self.name in ("final_response", "cancelled", "expired")

    @classmethod
    def from_params(cls, params: Dict[str, Any]) -> "Event":
        data = params.get("data")
        return cls(name=str(params.get("event", "")), job_id=str(params.get("job_id", "")),
                   seq=int(params.get("seq", 0)), ts=str(params.get("ts", "")),
                   data=data if isinstance(data, dict) else {},
                   subscription=params.get("subscription"))


class _ClientDefault:
    """Marks a timeout argument left out: the Client's own timeout applies."""

    def __repr__(self) -> str:
        return "<the client's timeout>"


CLIENT_DEFAULT: Any = _ClientDefault()


class Subscription:
    """The events of one subscription, as an iterator of Event.

    A subscription to one job ends by itself after the job's terminal event;
    iterating it then stops. A subscription by client, tag or to all jobs never
    ends: iterate it as long as you want, then close() it (or use ``with``).
    ``timeout`` (seconds, None for no limit) bounds the wait for each event
    when iterating; running out of it raises TimeoutError.

    A job-scoped subscription always asks the daemon for the job's terminal
    events as well, so that it sees its own end, and filters by ``events``
    itself.
    """

    def __init__(self, connection: Connection, subscription_id: Optional[str],
                 job_id: Optional[str] = None, events: Optional[Sequence[str]] = None,
                 timeout: Optional[float] = None, submitted: Optional[Dict[str, Any]] = None,
                 state: Optional[str] = None) -> None:
        self._connection = connection
        self.id = subscription_id
        self.job_id = job_id
        self.timeout = timeout
        # What job.submit answered, for subscriptions made by Client.stream_events().
        self.submitted = submitted
        # The job's state when the subscription began (job-scoped only).
        self.state = state
        self._names = frozenset(events) if events is not None else None
        # No subscription id: the job had already ended; there is nothing to read.
        self.ended = subscription_id is None

    def next(self, timeout: Any = CLIENT_DEFAULT) -> Optional[Event]:
        """The next event, or None once the subscription has ended.

        ``timeout``: seconds to wait (None: no limit; left out: the
        subscription's ``timeout``). Raises TimeoutError when it runs out.
        """
        if self.ended:
            return None
        deadline = deadline_after(self.timeout if timeout is CLIENT_DEFAULT else timeout)
        while True:
            params = self._connection.next_event(
                lambda e: e.get("subscription") == self.id, deadline)
            event = Event.from_params(params)
            if self.job_id is not None and event.terminal:
                self.ended = True
                self._connection.finish_subscription(self.id)
            if self._names is None or event.name in self._names:
                return event
            if self.ended:
                return None

    def close(self) -> None:
        """Stops the subscription (events.unsubscribe) unless it has ended already.

        Does not wait for the daemon's answer, so it is safe in a ``finally``.
        """
        if self.ended:
            return
        self.ended = True
        self._connection.finish_subscription(self.id)
        self._connection.send_and_forget("events.unsubscribe", {"subscription": self.id})

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self.next()
        if event is None:
            raise StopIteration
        return event

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # A subscription dropped without close() would otherwise keep sending
        # events that the connection keeps for nobody.
        try:
            self.close()
        except Exception:  # pylint: disable=broad-except
            pass  # Interpreter shutdown or a dead connection: nothing to stop.

    def __repr__(self) -> str:
        scope = f" job {self.job_id}" if self.job_id else ""
        return f"<Subscription {self.id}{scope}{' ended' if self.ended else ''}>"


class TextStream:
    """The answer of a streamed job as an iterator of text deltas (see Client.stream).

    Iterating yields each ``message_chunk`` delta of the first choice as it
    arrives, and stops when the job has succeeded; then ``job`` is the job
    object and ``text`` everything yielded. A job that fails, is cancelled or
    expires raises JobFailed. close() (or the end of a ``with`` block)
    unsubscribes; the job itself goes on.
    """

    def __init__(self, client: "Client", subscription: Subscription) -> None:
        self._client = client
        self.subscription = subscription
        self.job_id: Optional[str] = subscription.job_id
        self.job: Optional[Dict[str, Any]] = None  # Set once the job has ended.
        self.text = ""
        self._saw_events = False
        self._finished = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._finished:
            event = self.subscription.next()
            if event is None:
                return self._finish()
            self._saw_events = True
            if event.name == "message_chunk" and event.data.get("index", 0) == 0:
                delta = event.data.get("delta")
                if delta:
                    self.text += delta
                    return delta
        raise StopIteration

    def _finish(self) -> str:
        """Reads the ended job: its whole text if no event came, else StopIteration or JobFailed."""
        self._finished = True
        self.job = self._client.get(self.job_id)
        if self.job.get("state") != "succeeded":
            raise JobFailed(self.job)
        answer = content_of(self.job)
        if not self._saw_events and answer:
            # Deduplicated onto a job that had already ended: no events will come.
            self.text = answer
            return answer
        raise StopIteration

    def close(self) -> None:
        """Stops reading the job's events. The job is not cancelled."""
        self.subscription.close()

    def __enter__(self) -> "TextStream":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def content_of(job: Dict[str, Any]) -> Optional[str]:
    """The answer text of a finished job (its first choice's message content), or None."""
    result = job.get("result")
    try:
        return result["choices"][0]["message"]["content"]
    except (TypeError, KeyError, IndexError):
        return None


class Client:
    """A connection to llmqd and the methods of its protocol.

    ``socket``: the socket path; default default_socket_path() (``LLMQ_SOCKET``,
    then ``$XDG_RUNTIME_DIR/llmq/llmqd.sock``, then ``/run/llmq/llmqd.sock``).
    ``timeout``: seconds to wait for any one answer of the daemon, None for no
    limit; most methods also take ``timeout=`` for one call.

    A Client holds one connection, opened here (DaemonUnavailable if nothing
    listens) and closed by close() or at the end of a ``with`` block. It is not
    thread-safe: use one Client per thread. Subscriptions, wait() and stream()
    share the connection with the other calls, so calls may be made while
    iterating a subscription; its events are kept until read.
    """

    def __init__(self, socket: Optional[str] = None, *, timeout: Optional[float] = None,
                 connect_timeout: Optional[float] = 5.0) -> None:
        self.socket_path = socket if socket else default_socket_path()
        self.timeout = timeout
        self._connection = Connection(self.socket_path, connect_timeout)

    # --- Connection ----------------------------------------------------------------

    def close(self) -> None:
        """Closes the connection; the daemon drops its subscriptions. Jobs go on."""
        self._connection.close()

    @property
    def closed(self) -> bool:
        return self._connection.closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def call(self, method: str, params: Optional[Dict[str, Any]] = None,
             timeout: Any = CLIENT_DEFAULT) -> Any:
        """Sends any method with its params and returns its result (the other methods use this).

        The events of a subscription opened this way are not kept: use
        subscribe() or stream_events() for those.
        """
        return self._connection.call(method, params,
                                     self.timeout if timeout is CLIENT_DEFAULT else timeout)

    # --- Jobs ------------------------------------------------------------------------

    def submit(self, request: Optional[Dict[str, Any]] = None, *, model: Optional[str] = None,
               messages: Optional[List[Dict[str, Any]]] = None, prompt: Optional[str] = None,
               priority: Optional[int] = None, client: Optional[str] = None,
               tags: Optional[Iterable[str]] = None, idempotency_key: Optional[str] = None,
               max_attempts: Optional[int] = None, timeout_s: Optional[float] = None,
               deadline_s: Optional[float] = None, fallback_models: Optional[Iterable[str]] = None,
               api_key: Optional[str] = None, route: Optional[str] = None,
               cache: Optional[bool] = None, on_restart: Optional[str] = None,
               wait: bool = False, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Queues a job (job.submit) and returns ``{job_id, state, deduplicated}``.

        ``request`` is an OpenAI chat-completions body, passed on verbatim; for
        convenience ``model``, ``messages`` and ``prompt`` (one user message) fill
        in or override its members. The keyword params are job.submit's
        (ipc/PROTOCOL.md); those left at None are not sent, so the daemon's
        defaults apply. ``timeout_s`` and ``deadline_s`` limit the job in the
        daemon; ``timeout`` only how long this call waits for its answer.

        With ``wait=True`` the answer comes when the job has ended and is the job
        object (as get()); give a ``timeout`` that fits the job.
        """
        params = self._submit_params(
            request, model=model, messages=messages, prompt=prompt, priority=priority,
            client=client, tags=tags, idempotency_key=idempotency_key, max_attempts=max_attempts,
            timeout_s=timeout_s, deadline_s=deadline_s, fallback_models=fallback_models,
            api_key=api_key, route=route, cache=cache, on_restart=on_restart)
        if wait:
            params["wait"] = True
        return self.call("job.submit", params, timeout)

    def embed(self, input: Any, *, model: str, dimensions: Optional[int] = None,
              encoding_format: Optional[str] = None, priority: Optional[int] = None,
              client: Optional[str] = None, tags: Optional[Iterable[str]] = None,
              idempotency_key: Optional[str] = None, max_attempts: Optional[int] = None,
              timeout_s: Optional[float] = None, deadline_s: Optional[float] = None,
              wait: bool = True, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Queues an embeddings job (job.submit with kind "embedding").

        ``input`` is a string, a list of strings, a list of token ids or a list
        of lists of token ids, as OpenAI's embeddings API takes it. With
        ``wait=True`` (the default) the answer is the finished job object, whose
        ``result`` is the embeddings list (``result["data"][i]["embedding"]``);
        with ``wait=False``, ``{job_id, state, deduplicated}``.
        """
        body: Dict[str, Any] = {"model": model, "input": input}
        if dimensions is not None:
            body["dimensions"] = dimensions
        if encoding_format is not None:
            body["encoding_format"] = encoding_format
        params = self._submit_params(
            body, priority=priority, client=client, tags=tags, idempotency_key=idempotency_key,
            max_attempts=max_attempts, timeout_s=timeout_s, deadline_s=deadline_s)
        params["kind"] = "embedding"
        if wait:
            params["wait"] = True
        return self.call("job.submit", params, timeout)

    def get(self, job_id: str, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """The job object (job.get). NotFound if there is no such job."""
        return self.call("job.get", {"job_id": job_id}, timeout)

    def list(self, *, state: Optional[str] = None, client: Optional[str] = None,
             tag: Optional[str] = None, limit: Optional[int] = None, cursor: Optional[str] = None,
             include_result: Optional[bool] = None,
             timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """One page of jobs, newest first (job.list): ``{jobs, next_cursor}``.

        Pass ``next_cursor`` back as ``cursor`` for the next page (it is None
        after the last). iter_jobs() does that for you.
        """
        params = _without_none(state=state, client=client, tag=tag, limit=limit, cursor=cursor,
                               include_result=include_result)
        return self.call("job.list", params, timeout)

    def iter_jobs(self, *, state: Optional[str] = None, client: Optional[str] = None,
                  tag: Optional[str] = None, page_size: Optional[int] = None,
                  include_result: Optional[bool] = None) -> Iterator[Dict[str, Any]]:
        """Every matching job, newest first, fetched a page (job.list) at a time."""
        cursor = None
        while True:
            page = self.list(state=state, client=client, tag=tag, limit=page_size, cursor=cursor,
                             include_result=include_result)
            yield from page.get("jobs", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def cancel(self, job_id: str, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Cancels a job (job.cancel), aborting a running attempt; returns the job.

        InvalidState if the job has already ended.
        """
        return self.call("job.cancel", {"job_id": job_id}, timeout)

    def retry(self, job_id: str, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Queues a failed, cancelled or expired job again (job.retry); returns the job."""
        return self.call("job.retry", {"job_id": job_id}, timeout)

    def wait(self, job_id: str, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Waits until the job has ended and returns its job object.

        Whatever the ending (succeeded, failed, cancelled, expired), the job is
        returned; look at ``job["state"]`` and ``job["error"]``. ``timeout`` is
        in seconds, None for no limit; TimeoutError when it runs out (the job
        goes on).

        It subscribes to the job before reading it, so an ending between the
        two cannot be missed.
        """
        deadline = deadline_after(timeout)

        def rpc_timeout() -> Any:
            return seconds_left(deadline) if deadline is not None else CLIENT_DEFAULT

        while True:
            # Only terminal events are asked for: a streamed job's chunks stay home.
            subscription = self.subscribe(job_id=job_id, events=TERMINAL_EVENTS,
                                          rpc_timeout=rpc_timeout())
            with subscription:
                job = self.get(job_id, timeout=rpc_timeout())
                if job.get("state") in TERMINAL_STATES:
                    return job
                try:
                    while subscription.next(timeout=seconds_left(deadline)) is not None:
                        pass
                except TimeoutError:
                    raise TimeoutError(
                        f"job {job_id} did not end within {timeout} s") from None
            # The job ended; read it. (If someone retried it in between, wait on.)
            job = self.get(job_id, timeout=rpc_timeout())
            if job.get("state") in TERMINAL_STATES:
                return job

    def stream_events(self, request: Optional[Dict[str, Any]] = None, *,
                      event_timeout: Optional[float] = None, **submit_params: Any) -> Subscription:
        """Submits a job subscribed to its events; returns the Subscription.

        Takes the arguments of submit() (except ``wait``). The Subscription
        yields every event of the job, from ``queued`` to the terminal one, then
        stops; ``.job_id`` is the job and ``.submitted`` what job.submit
        answered. ``event_timeout`` bounds the wait for each event.
        """
        params = self._submit_params(request, **submit_params)
        params["subscribe"] = True
        ack = self._connection.call("job.submit", params, self.timeout, opens_subscription=True)
        return Subscription(self._connection, ack.get("subscription"), job_id=ack.get("job_id"),
                            timeout=event_timeout, submitted=ack, state=ack.get("state"))

    def stream(self, request: Optional[Dict[str, Any]] = None, *,
               event_timeout: Optional[float] = None, **submit_params: Any) -> "TextStream":
        """Submits a streamed job and returns a TextStream of its text as it arrives.

        Takes the arguments of submit(); sets ``"stream": true`` in the request.
        The job is submitted before this returns (so bad params raise here); the
        returned iterator yields the text deltas (``message_chunk`` data.delta of
        the first choice) and ends when the job succeeds. If the job fails, is
        cancelled or expires, it raises JobFailed with the job's error code.

        If an attempt breaks after streaming some text and the daemon retries it
        (a ``retrying`` event), the next attempt's text is yielded from its start;
        use stream_events() to tell the attempts apart. A job that was
        deduplicated onto one that had already ended yields its whole answer at
        once. Leaving the loop early unsubscribes; the job itself goes on.
        """
        request = dict(request) if request is not None else {}  # The caller's stays as it was.
        request["stream"] = True
        subscription = self.stream_events(request, event_timeout=event_timeout, **submit_params)
        return TextStream(self, subscription)

    # --- Events ------------------------------------------------------------------------

    def subscribe(self, *, job_id: Optional[str] = None, client: Optional[str] = None,
                  tag: Optional[str] = None, all_jobs: bool = False,
                  events: Optional[Iterable[str]] = None, timeout: Optional[float] = None,
                  rpc_timeout: Any = CLIENT_DEFAULT) -> Subscription:
        """Subscribes to events (events.subscribe) and returns the Subscription.

        Give exactly one scope: ``job_id``, ``client``, ``tag`` or
        ``all_jobs=True`` (the protocol's ``all``). ``events`` keeps only those
        event names. ``timeout`` bounds the wait for each event while iterating
        (None: no limit). A subscription to a job that has already ended is
        empty at once. Close it (or use ``with``) when done.
        """
        names = list(events) if events is not None else None
        params: Dict[str, Any] = _without_none(job_id=job_id, client=client, tag=tag)
        if all_jobs:
            params["all"] = True
        if names is not None:
            asked = names
            if job_id is not None:
                # The subscription must see the job's end to know it is over.
                asked = names + [n for n in TERMINAL_EVENTS if n not in names]
            params["events"] = asked
        answer = self._connection.call("events.subscribe", params,
                                       self.timeout if rpc_timeout is CLIENT_DEFAULT else rpc_timeout,
                                       opens_subscription=True)
        return Subscription(self._connection, answer.get("subscription"), job_id=job_id,
                            events=names, timeout=timeout, state=answer.get("state"))

    # --- Queue, daemon, models, keys --------------------------------------------------

    def pause(self, client: Optional[str] = None, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Pauses the whole queue, or one client's jobs (queue.pause): ``{paused, paused_clients}``."""
        return self.call("queue.pause", _without_none(client=client), timeout)

    def resume(self, client: Optional[str] = None, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Resumes what pause() paused (queue.resume): ``{paused, paused_clients}``."""
        return self.call("queue.resume", _without_none(client=client), timeout)

    def daemon_status(self, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Version, uptime, queue counts, in-flight, limits and circuits (daemon.status)."""
        return self.call("daemon.status", None, timeout)

    def _all_pages(self, method: str, params: Dict[str, Any], array: str, timeout: Any,
                   later_params: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """A paged list answer whole: follows ``next_cursor`` to the last page and
        returns the first page with every page's ``array`` in its ``array`` (and
        ``next_cursor`` None). ``later_params`` go with the cursor after the first page."""
        first = self.call(method, params, timeout)
        cursor = first.get("next_cursor")
        while cursor:
            page = self.call(method, dict(later_params if later_params is not None else params,
                                          cursor=cursor), timeout)
            first[array].extend(page.get(array, []))
            following = page.get("next_cursor")
            if following == cursor:
                raise ProtocolError(f"llmqd sent the same next_cursor twice for {method}")
            cursor = following
        first["next_cursor"] = None
        return first

    def models(self, *, refresh: Optional[bool] = None, filter: Optional[str] = None,
               page_size: Optional[int] = None, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """The model catalog with prices (models.list): ``{models, fetched_at, next_cursor}``.

        ``refresh=True`` first fetches OpenRouter's list (network);
        ``filter`` keeps ids containing it. Every page is fetched (``page_size``
        models at a time; None: the daemon's default) and the models put together.
        """
        params = _without_none(refresh=refresh, filter=filter, limit=page_size)
        return self._all_pages("models.list", params, "models", timeout,
                               _without_none(filter=filter, limit=page_size))

    def keys_status(self, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """The server's key pool, as fingerprints (keys.status)."""
        return self.call("keys.status", None, timeout)

    # --- Money -------------------------------------------------------------------------

    def usage_report(self, group_by: Optional[Iterable[str]] = None, *, since: Optional[str] = None,
                     until: Optional[str] = None, page_size: Optional[int] = None,
                     timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Tokens and cost (usage.report): ``{group_by, since, until, source, rows, totals, next_cursor}``.

        ``group_by``: any of "model", "client", "key", "tag", "day".
        ``since``/``until``: RFC 3339 times (inclusive / exclusive). Every page is
        fetched (``page_size`` rows at a time; None: the daemon's default) and the
        rows put together.
        """
        params = _without_none(group_by=list(group_by) if group_by is not None else None,
                               since=since, until=until, limit=page_size)
        return self._all_pages("usage.report", params, "rows", timeout)

    def budget_set(self, scope: str, period: str, limit_usd: float, *,
                   alert_at: Optional[Iterable[float]] = None, action: Optional[str] = None,
                   timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Sets a budget (budget.set) and returns it.

        ``scope``: "global", "client:NAME", "key:NAME", "model:ID" or "tag:T";
        ``period``: "day", "week", "month" or "total"; ``action``: "reject"
        (default) or "hold".
        """
        params = _without_none(scope=scope, period=period, limit_usd=limit_usd,
                               alert_at=list(alert_at) if alert_at is not None else None,
                               action=action)
        return self.call("budget.set", params, timeout)

    def budget_list(self, *, page_size: Optional[int] = None,
                    timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Every budget with what it has spent (budget.list): ``{budgets, next_cursor}``,
        every page fetched (``page_size`` budgets at a time; None: the daemon's default)."""
        return self._all_pages("budget.list", _without_none(limit=page_size), "budgets", timeout)

    def budget_delete(self, scope: str, period: str, *,
                      timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Deletes a budget (budget.delete). NotFound if there is none."""
        return self.call("budget.delete", {"scope": scope, "period": period}, timeout)

    def db_backup(self, path: str, *, timeout: Any = CLIENT_DEFAULT) -> Dict[str, Any]:
        """Copies the database online into ``path`` (absolute, must not exist) (db.backup)."""
        return self.call("db.backup", {"path": path}, timeout)

    # --- Internals ---------------------------------------------------------------------

    @staticmethod
    def _submit_params(request: Optional[Dict[str, Any]], *, model: Optional[str] = None,
                       messages: Optional[List[Dict[str, Any]]] = None,
                       prompt: Optional[str] = None, priority: Optional[int] = None,
                       client: Optional[str] = None, tags: Optional[Iterable[str]] = None,
                       idempotency_key: Optional[str] = None, max_attempts: Optional[int] = None,
                       timeout_s: Optional[float] = None, deadline_s: Optional[float] = None,
                       fallback_models: Optional[Iterable[str]] = None,
                       api_key: Optional[str] = None, route: Optional[str] = None,
                       cache: Optional[bool] = None,
                       on_restart: Optional[str] = None) -> Dict[str, Any]:
        """The params of job.submit; the request is copied, never changed in place."""
        body: Dict[str, Any] = dict(request) if request is not None else {}
        if model is not None:
            body["model"] = model
        if messages is not None:
            body["messages"] = messages
        if prompt is not None:
            body["messages"] = [{"role": "user", "content": prompt}]
        params = _without_none(
            priority=priority, client=client,
            tags=list(tags) if tags is not None else None,
            idempotency_key=idempotency_key, max_attempts=max_attempts, timeout_s=timeout_s,
            deadline_s=deadline_s,
            fallback_models=list(fallback_models) if fallback_models is not None else None,
            api_key=api_key, route=route, cache=cache, on_restart=on_restart)
        params["request"] = body
        return params


def _without_none(**params: Any) -> Dict[str, Any]:
    """The given params minus those that are None (left to the daemon's defaults)."""
    return {name: value for name, value in params.items() if value is not None}
