"""Tests of llmq_client against a real llmqd.

Each test class starts the llmqd binary named by the LLMQD environment variable
(CTest sets it to the build tree's) on a socket and database in a temporary
directory, waits for its sd_notify READY=1, and stops it afterwards (SIGTERM,
then SIGKILL if it does not exit in time). Jobs use the built-in mock/...
models: no network, no key. Run with
    LLMQD=build/llmqd PYTHONPATH=clients/python python3 -m unittest discover -s clients/python/tests -v
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from typing import List, Optional
from unittest import mock

from llmq_client import (Client, ConnectionLost, DaemonUnavailable, Event, InvalidParams,
                         InvalidState, JobFailed, LlmqError, MethodNotFound, NotFound,
                         content_of, default_socket_path)

# Fast mock pacing, and no catalog fetch or key-credit check (they would reach
# for the network), as tests/support/daemon_process.cc does.
MOCK_CONFIG = """
[mock]
chunk_delay_ms = 5
first_chunk_delay_ms = 5

[catalog]
refresh_at_start = false
refresh_s = 0

[openrouter]
credit_check_s = 0
"""

READY_TIMEOUT_S = 15
STOP_TIMEOUT_S = 30
CALL_TIMEOUT_S = 10   # Any one answer of the daemon.
JOB_TIMEOUT_S = 30    # A mock job from submission to its end.


class Daemon:
    """One llmqd process in its own temporary directory; stop() always cleans up."""

    def __init__(self, config_toml: str = MOCK_CONFIG) -> None:
        llmqd = os.environ.get("LLMQD")
        if not llmqd:
            raise AssertionError("LLMQD is not set: point it at the llmqd binary to test, "
                                 "e.g. LLMQD=build/llmqd (CTest sets it)")
        if not os.access(llmqd, os.X_OK):
            raise AssertionError(f"LLMQD={llmqd} is not an executable file")
        self.llmqd = llmqd
        # Short: a Unix socket path must fit in 108 bytes.
        self.dir = tempfile.mkdtemp(prefix="llmq-py-")
        self.socket = os.path.join(self.dir, "llmqd.sock")
        self.db = os.path.join(self.dir, "llmq.db")
        self.config = os.path.join(self.dir, "llmqd.toml")
        self.log_path = os.path.join(self.dir, "llmqd.log")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(config_toml)
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        """Starts llmqd and waits (bounded) for READY=1 on our NOTIFY_SOCKET."""
        notify_path = os.path.join(self.dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            notify.bind(notify_path)
            env = {name: value for name, value in os.environ.items()
                   if not name.startswith(("LLMQ_", "OPENROUTER_", "OPEN_ROUTER_"))
                   and name not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")}
            env["NOTIFY_SOCKET"] = notify_path
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [self.llmqd, "--socket", self.socket, "--db", self.db, "--config", self.config],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
            deadline = time.monotonic() + READY_TIMEOUT_S
            while time.monotonic() < deadline:
                notify.settimeout(0.05)
                try:
                    if b"READY=1" in notify.recv(4096):
                        return
                except socket.timeout:
                    pass
                if self.process.poll() is not None:
                    raise AssertionError(f"llmqd exited with status {self.process.returncode} "
                                         f"before it was ready; log:\n{self.log()}")
            raise AssertionError(f"llmqd sent no READY=1 within {READY_TIMEOUT_S} s; "
                                 f"log:\n{self.log()}")
        finally:
            # After READY=1 nobody reads it; llmqd ignores failed notifications.
            notify.close()

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Removes the directory."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=STOP_TIMEOUT_S)
        finally:
            self.process = None
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return "(no log)"


def messages(text: str) -> List[dict]:
    return [{"role": "user", "content": text}]


class DaemonTestCase(unittest.TestCase):
    """Starts one llmqd for the class; each test gets its own Client and client name."""

    daemon: Daemon

    @classmethod
    def setUpClass(cls) -> None:
        cls.daemon = Daemon()
        cls.addClassCleanup(cls.daemon.stop)
        cls.daemon.start()

    def setUp(self) -> None:
        self.client = self.connect()
        # Jobs of this test carry its own client name, so lists and reports can
        # tell them from the other tests' jobs on the shared daemon.
        self.name = "py-" + self.id().rsplit(".", 1)[-1]

    def connect(self) -> Client:
        client = Client(self.daemon.socket, timeout=CALL_TIMEOUT_S)
        self.addCleanup(client.close)
        return client

    def submit(self, model: str = "mock/demo", text: str = "hello", **params) -> dict:
        params.setdefault("client", self.name)
        return self.client.submit(model=model, messages=messages(text), **params)


class SubmitAndWaitTest(DaemonTestCase):

    def test_submit_then_wait_returns_the_finished_job(self) -> None:
        ack = self.submit("mock/echo", "repeat after me")
        self.assertRegex(ack["job_id"], r"^j[0-9a-f]{12}$")
        self.assertIn(ack["state"], ("queued", "running"))
        self.assertFalse(ack["deduplicated"])

        job = self.client.wait(ack["job_id"], timeout=JOB_TIMEOUT_S)
        self.assertEqual("succeeded", job["state"])
        self.assertEqual(ack["job_id"], job["job_id"])
        self.assertEqual(self.name, job["client"])
        self.assertEqual("repeat after me", content_of(job))
        self.assertGreater(job["usage"]["cost_usd"], 0)

    def test_wait_on_a_finished_job_returns_at_once(self) -> None:
        job_id = self.submit("mock/echo", "once")["job_id"]
        self.client.wait(job_id, timeout=JOB_TIMEOUT_S)
        start = time.monotonic()
        job = self.client.wait(job_id, timeout=JOB_TIMEOUT_S)
        self.assertEqual("succeeded", job["state"])
        self.assertLess(time.monotonic() - start, 5)

    def test_submit_with_wait_answers_with_the_job(self) -> None:
        job = self.submit("mock/echo", "waited for", wait=True, timeout=JOB_TIMEOUT_S)
        self.assertEqual("succeeded", job["state"])
        self.assertEqual("waited for", content_of(job))

    def test_embed_answers_with_vectors_and_their_usage(self) -> None:
        job = self.client.embed(["one text", "another"], model="mock/embed", dimensions=4,
                                client=self.name, timeout=JOB_TIMEOUT_S)
        self.assertEqual("succeeded", job["state"])
        self.assertEqual("embedding", job["kind"])
        data = job["result"]["data"]
        self.assertEqual([0, 1], [d["index"] for d in data])
        self.assertEqual([4, 4], [len(d["embedding"]) for d in data])
        self.assertNotEqual(data[0]["embedding"], data[1]["embedding"])
        self.assertEqual(0, job["usage"]["completion_tokens"])
        self.assertGreater(job["usage"]["prompt_tokens"], 0)
        # The same input gives the same vector.
        again = self.client.embed("one text", model="mock/embed", dimensions=4, client=self.name,
                                  timeout=JOB_TIMEOUT_S)
        self.assertEqual(data[0]["embedding"], again["result"]["data"][0]["embedding"])

    def test_embed_refuses_an_empty_input(self) -> None:
        with self.assertRaises(InvalidParams):
            self.client.embed("", model="mock/embed", client=self.name)

    def test_prompt_and_request_build_the_same_body(self) -> None:
        request = {"model": "mock/echo", "messages": messages("from request"), "max_tokens": 5}
        job_id = self.client.submit(request, client=self.name)["job_id"]
        self.assertEqual("from request", content_of(self.client.wait(job_id, JOB_TIMEOUT_S)))
        self.assertEqual(messages("from request"), request["messages"], "request was changed")
        job_id = self.client.submit(model="mock/echo", prompt="from prompt", client=self.name)["job_id"]
        self.assertEqual("from prompt", content_of(self.client.wait(job_id, JOB_TIMEOUT_S)))

    def test_wait_times_out_and_the_connection_stays_usable(self) -> None:
        job_id = self.submit("mock/hang")["job_id"]
        start = time.monotonic()
        with self.assertRaises(TimeoutError):
            self.client.wait(job_id, timeout=0.3)
        self.assertLess(time.monotonic() - start, 5)
        self.assertIn(self.client.get(job_id)["state"], ("queued", "running"))
        self.assertEqual("cancelled", self.client.cancel(job_id)["state"])

    def test_late_answer_of_a_timed_out_call_is_skipped(self) -> None:
        with self.assertRaises(TimeoutError):
            self.submit("mock/hang", wait=True, timeout=0.3)
        # Answers come in request order, so the job is found and cancelled over a
        # second connection; the first then gets the old answer before the new one.
        other = self.connect()
        jobs = other.list(client=self.name, state="queued")["jobs"] + \
            other.list(client=self.name, state="running")["jobs"]
        self.assertEqual(1, len(jobs))
        other.cancel(jobs[0]["job_id"])
        job = self.client.get(jobs[0]["job_id"])
        self.assertEqual(jobs[0]["job_id"], job["job_id"])
        self.assertEqual("cancelled", job["state"])

    def test_idempotency_key_deduplicates(self) -> None:
        key = f"{self.name}-key"
        first = self.submit("mock/echo", "only once", idempotency_key=key)
        second = self.submit("mock/echo", "only once", idempotency_key=key)
        self.assertFalse(first["deduplicated"])
        self.assertTrue(second["deduplicated"])
        self.assertEqual(first["job_id"], second["job_id"])
        job = self.client.wait(first["job_id"], timeout=JOB_TIMEOUT_S)
        self.assertEqual(1, job["attempts"])
        self.assertEqual(1, len(list(self.client.iter_jobs(client=self.name))))
        # Streaming a job deduplicated onto a finished one gives its whole answer.
        stream = self.client.stream(model="mock/echo", messages=messages("only once"),
                                    idempotency_key=key, client=self.name)
        self.assertEqual(first["job_id"], stream.job_id)
        self.assertEqual(["only once"], list(stream))


class JobControlTest(DaemonTestCase):

    def test_get_list_and_iter_jobs(self) -> None:
        ids = [self.submit("mock/echo", f"job {i}", tags=["listed"])["job_id"] for i in range(3)]
        for job_id in ids:
            self.client.wait(job_id, timeout=JOB_TIMEOUT_S)
        job = self.client.get(ids[0])
        self.assertEqual(ids[0], job["job_id"])
        self.assertEqual(["listed"], job["tags"])

        page = self.client.list(client=self.name, limit=2)
        self.assertEqual(list(reversed(ids))[:2], [j["job_id"] for j in page["jobs"]])
        self.assertIsNotNone(page["next_cursor"])
        every = [j["job_id"] for j in self.client.iter_jobs(client=self.name, page_size=1)]
        self.assertEqual(list(reversed(ids)), every)
        succeeded = self.client.list(client=self.name, state="succeeded", include_result=True)
        self.assertEqual(3, len(succeeded["jobs"]))
        self.assertIsNotNone(succeeded["jobs"][0]["result"])

    def test_cancel_then_retry(self) -> None:
        job_id = self.submit("mock/hang")["job_id"]
        cancelled = self.client.cancel(job_id)
        self.assertEqual("cancelled", cancelled["state"])
        self.assertEqual("CANCELLED", cancelled["error"]["code"])
        with self.assertRaises(InvalidState) as raised:
            self.client.cancel(job_id)
        self.assertEqual(-32004, raised.exception.code)
        self.assertEqual("cancelled", self.client.wait(job_id, timeout=JOB_TIMEOUT_S)["state"])

        retried = self.client.retry(job_id)
        self.assertEqual("queued", retried["state"])
        with self.assertRaises(InvalidState):
            self.client.retry(job_id)
        self.assertEqual("cancelled", self.client.cancel(job_id)["state"])

    def test_wait_returns_a_failed_job(self) -> None:
        job_id = self.submit("mock/fail-400")["job_id"]
        job = self.client.wait(job_id, timeout=JOB_TIMEOUT_S)
        self.assertEqual("failed", job["state"])
        self.assertEqual("INVALID_REQUEST", job["error"]["code"])

    def test_pause_and_resume_a_client(self) -> None:
        paused = self.client.pause(self.name)
        self.assertIn(self.name, paused["paused_clients"])
        try:
            job_id = self.submit("mock/echo", "after the pause")["job_id"]
            with self.assertRaises(TimeoutError):
                self.client.wait(job_id, timeout=0.5)
            self.assertEqual("queued", self.client.get(job_id)["state"])
        finally:
            resumed = self.client.resume(self.name)
        self.assertNotIn(self.name, resumed["paused_clients"])
        self.assertEqual("succeeded", self.client.wait(job_id, timeout=JOB_TIMEOUT_S)["state"])


class StreamTest(DaemonTestCase):

    def test_stream_yields_chunks_as_they_arrive(self) -> None:
        stream = self.client.stream({"max_tokens": 10, "mock": {"chunk_delay_ms": 30}},
                                    model="mock/demo", messages=messages("stream it"),
                                    client=self.name)
        arrivals = []
        chunks = []
        for chunk in stream:
            arrivals.append(time.monotonic())
            chunks.append(chunk)
        self.assertGreaterEqual(len(chunks), 5)
        # Paced 30 ms apart by the daemon: they were not all read in one go at the end.
        self.assertGreater(arrivals[-1] - arrivals[0], 0.1)
        self.assertEqual("succeeded", stream.job["state"])
        self.assertEqual("".join(chunks), stream.text)
        self.assertEqual(stream.text, content_of(stream.job))
        self.assertTrue(stream.job["stream"])

    def test_stream_events_in_order(self) -> None:
        subscription = self.client.stream_events(
            {"stream": True, "max_tokens": 4}, model="mock/demo", messages=messages("events"),
            client=self.name)
        events = list(subscription)
        names = [e.name for e in events]
        self.assertEqual(["queued", "started"], names[:2])
        self.assertEqual(["usage", "final_response"], names[-2:])
        self.assertEqual(4, names.count("message_chunk"))
        self.assertEqual(list(range(1, len(events) + 1)), [e.seq for e in events])
        self.assertTrue(events[-1].terminal)
        self.assertTrue(subscription.ended)
        self.assertTrue(all(e.job_id == subscription.job_id for e in events))

    def test_stream_of_a_failing_job_raises_job_failed(self) -> None:
        stream = self.client.stream(model="mock/fail-400", messages=messages("fail"),
                                    client=self.name)
        with self.assertRaises(JobFailed) as raised:
            list(stream)
        self.assertEqual("INVALID_REQUEST", raised.exception.symbol)
        self.assertEqual("failed", raised.exception.state)
        self.assertEqual(stream.job_id, raised.exception.job_id)
        self.assertIsNone(raised.exception.code)

    def test_stream_of_a_job_cancelled_elsewhere_raises_job_failed(self) -> None:
        stream = self.client.stream(model="mock/hang", messages=messages("hang"), client=self.name)
        other = self.connect()
        other.cancel(stream.job_id)
        with self.assertRaises(JobFailed) as raised:
            list(stream)
        self.assertEqual("CANCELLED", raised.exception.symbol)
        self.assertEqual("cancelled", raised.exception.state)

    def test_leaving_a_stream_early_unsubscribes(self) -> None:
        with self.client.stream({"max_tokens": 20}, model="mock/demo", messages=messages("x"),
                                client=self.name) as stream:
            first = next(stream)
        self.assertTrue(first)
        self.assertTrue(stream.subscription.ended)
        # The job goes on without us, and the connection still works.
        self.assertEqual("succeeded",
                         self.client.wait(stream.job_id, timeout=JOB_TIMEOUT_S)["state"])


class SubscribeTest(DaemonTestCase):

    def test_subscribe_by_client_sees_every_job_while_calls_go_on(self) -> None:
        with self.client.subscribe(client=self.name, timeout=JOB_TIMEOUT_S) as subscription:
            ids = [self.submit("mock/demo", f"sub {i}", request={"stream": True, "max_tokens": 3})["job_id"]
                   for i in range(2)]
            # Calls made while events pour in: the events are kept for the iterator.
            for _ in range(5):
                self.client.daemon_status()
                time.sleep(0.02)
            seen = {job_id: [] for job_id in ids}
            finished = set()
            for event in subscription:
                self.assertIsInstance(event, Event)
                self.assertEqual(subscription.id, event.subscription)
                seen[event.job_id].append(event)
                if event.terminal:
                    finished.add(event.job_id)
                if finished == set(ids):
                    break
        for job_id in ids:
            events = seen[job_id]
            self.assertEqual(list(range(1, len(events) + 1)), [e.seq for e in events],
                             f"events of {job_id} lost or out of order")
            self.assertEqual("queued", events[0].name)
            self.assertEqual("final_response", events[-1].name)
        self.assertTrue(subscription.ended)

    def test_subscribe_to_one_job_ends_with_it(self) -> None:
        job_id = self.submit("mock/demo", "one job",
                             request={"stream": True, "max_tokens": 5,
                                      "mock": {"chunk_delay_ms": 20}})["job_id"]
        subscription = self.client.subscribe(job_id=job_id, events=["message_chunk"],
                                             timeout=JOB_TIMEOUT_S)
        chunks = list(subscription)
        self.assertTrue(chunks)
        self.assertTrue(all(e.name == "message_chunk" for e in chunks))
        job = self.client.get(job_id)
        self.assertEqual("succeeded", job["state"])
        self.assertEqual(content_of(job), "".join(e.data["delta"] for e in chunks))

    def test_subscribe_to_a_finished_job_is_empty(self) -> None:
        job_id = self.submit("mock/echo", "done")["job_id"]
        self.client.wait(job_id, timeout=JOB_TIMEOUT_S)
        subscription = self.client.subscribe(job_id=job_id)
        self.assertIsNone(subscription.id)
        self.assertEqual("succeeded", subscription.state)
        self.assertEqual([], list(subscription))

    def test_events_of_closed_subscriptions_are_not_kept(self) -> None:
        subscription = self.client.subscribe(client=self.name)
        job_id = self.submit("mock/demo", "unread",
                             request={"stream": True, "max_tokens": 8})["job_id"]
        subscription.close()
        self.assertEqual("succeeded", self.client.wait(job_id, timeout=JOB_TIMEOUT_S)["state"])
        self.client.daemon_status()
        self.assertEqual(0, len(self.client._connection._events))  # pylint: disable=protected-access

    def test_next_event_times_out(self) -> None:
        with self.client.subscribe(client=self.name + "-quiet") as subscription:
            with self.assertRaises(TimeoutError):
                subscription.next(timeout=0.2)
        self.assertIsNone(subscription.next())
        self.client.daemon_status()  # The unsubscribe's answer is dropped quietly.


class MoneyAndAdminTest(DaemonTestCase):

    def test_usage_report_counts_this_clients_jobs(self) -> None:
        for i in range(2):
            job_id = self.submit("mock/demo", f"usage {i}", request={"max_tokens": 6})["job_id"]
            self.assertEqual("succeeded", self.client.wait(job_id, timeout=JOB_TIMEOUT_S)["state"])
        report = self.client.usage_report(["client"])
        self.assertEqual(["client"], report["group_by"])
        rows = [r for r in report["rows"] if r["client"] == self.name]
        self.assertEqual(1, len(rows), report)
        self.assertEqual(2, rows[0]["requests"])
        self.assertEqual(12, rows[0]["completion_tokens"])
        self.assertGreater(rows[0]["cost_usd"], 0)
        self.assertGreaterEqual(report["totals"]["requests"], 2)

    def test_budgets(self) -> None:
        scope = "client:" + self.name
        budget = self.client.budget_set(scope, "day", 5.0, alert_at=[0.5], action="hold")
        self.assertEqual(scope, budget["scope"])
        self.assertEqual(5.0, budget["limit_usd"])
        self.assertEqual("hold", budget["action"])
        listed = [b for b in self.client.budget_list()["budgets"] if b["scope"] == scope]
        self.assertEqual(1, len(listed))
        self.assertEqual({"deleted": True}, self.client.budget_delete(scope, "day"))
        with self.assertRaises(NotFound):
            self.client.budget_delete(scope, "day")

    def test_lists_are_followed_to_their_last_page(self) -> None:
        scopes = [f"client:{self.name}-page-{i}" for i in range(5)]
        for scope in scopes:
            self.client.budget_set(scope, "month", 1.0)
        try:
            listed = self.client.budget_list(page_size=2)
            mine = [b["scope"] for b in listed["budgets"] if b["scope"] in scopes]
            self.assertEqual(sorted(scopes), mine)
            self.assertIsNone(listed["next_cursor"])
            whole = self.client.models(page_size=1)["models"]
            self.assertEqual([m["id"] for m in self.client.models()["models"]], [m["id"] for m in whole])
            report = self.client.usage_report(["client"], page_size=1)
            self.assertIsNone(report["next_cursor"])
            clients = [r["client"] for r in report["rows"]]
            self.assertEqual(sorted(set(clients)), clients)
        finally:
            for scope in scopes:
                self.client.budget_delete(scope, "month")

    def test_status_models_and_keys(self) -> None:
        status = self.client.daemon_status()
        self.assertEqual(self.daemon.process.pid, status["pid"])
        self.assertIn("queue", status)
        models = self.client.models(filter="mock")["models"]
        self.assertIn("mock/*", [m["id"] for m in models])
        keys = self.client.keys_status()
        self.assertEqual("none", keys["key_source"])
        self.assertEqual([], keys["pool"])


class ErrorTest(DaemonTestCase):

    def test_bad_params_raise_invalid_params(self) -> None:
        with self.assertRaises(InvalidParams) as raised:
            self.client.submit({"model": "mock/demo"}, client=self.name)  # No messages.
        error = raised.exception
        self.assertIsInstance(error, LlmqError)
        self.assertEqual(-32602, error.code)
        self.assertEqual("INVALID_PARAMS", error.symbol)
        self.assertIn("messages", error.message)
        with self.assertRaises(InvalidParams):
            self.client.call("job.submit", {"request": {"model": "mock/demo",
                                                        "messages": messages("x")},
                                            "no_such_param": 1})
        with self.assertRaises(InvalidParams):
            self.submit(priority=5000)
        with self.assertRaises(InvalidParams):
            self.client.stream(model="mock/demo", messages=[], client=self.name)

    def test_unknown_job_raises_not_found(self) -> None:
        for job_id in ("j0000000fffff", "not-a-job-id"):
            with self.assertRaises(NotFound) as raised:
                self.client.get(job_id)
            self.assertEqual(-32001, raised.exception.code)
            self.assertEqual("NOT_FOUND", raised.exception.symbol)
        with self.assertRaises(NotFound):
            self.client.cancel("j0000000fffff")
        with self.assertRaises(NotFound):
            self.client.wait("j0000000fffff", timeout=5)

    def test_unknown_method_raises_method_not_found(self) -> None:
        with self.assertRaises(MethodNotFound) as raised:
            self.client.call("no.such.method")
        self.assertEqual(-32601, raised.exception.code)
        self.client.daemon_status()  # The connection stays open after an error.

    def test_missing_socket_raises_daemon_unavailable(self) -> None:
        with self.assertRaises(DaemonUnavailable) as raised:
            Client(os.path.join(self.daemon.dir, "nothing-here.sock"))
        self.assertIn("nothing-here.sock", str(raised.exception))


class ConnectionLostTest(unittest.TestCase):
    """Its own daemon, which the test stops under a connected client."""

    def test_daemon_going_away_raises_connection_lost(self) -> None:
        daemon = Daemon()
        self.addCleanup(daemon.stop)
        daemon.start()
        with Client(daemon.socket, timeout=CALL_TIMEOUT_S) as client:
            client.daemon_status()
            daemon.process.send_signal(signal.SIGTERM)
            daemon.process.wait(timeout=STOP_TIMEOUT_S)
            with self.assertRaises(ConnectionLost):
                client.daemon_status()
            with self.assertRaises(ConnectionLost):
                client.daemon_status()  # Unusable from now on.
        self.assertTrue(client.closed)


class SocketPathTest(unittest.TestCase):
    """Socket resolution of README.md, Where files live; no daemon needed."""

    def test_llmq_socket_wins(self) -> None:
        with mock.patch.dict(os.environ, {"LLMQ_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/7"}):
            self.assertEqual("/x/y.sock", default_socket_path())

    def test_xdg_runtime_dir_then_run(self) -> None:
        with tempfile.TemporaryDirectory() as runtime:
            os.makedirs(os.path.join(runtime, "llmq"))
            user_socket = os.path.join(runtime, "llmq", "llmqd.sock")
            open(user_socket, "w").close()
            env = {k: v for k, v in os.environ.items() if k != "LLMQ_SOCKET"}
            env["XDG_RUNTIME_DIR"] = runtime
            with mock.patch.dict(os.environ, env, clear=True):
                self.assertEqual(user_socket, default_socket_path())
            del env["XDG_RUNTIME_DIR"]
            with mock.patch.dict(os.environ, env, clear=True):
                self.assertEqual("/run/llmq/llmqd.sock", default_socket_path())

    def test_system_socket_when_the_user_one_is_missing(self) -> None:
        real_exists = os.path.exists
        with tempfile.TemporaryDirectory() as runtime:
            env = {k: v for k, v in os.environ.items() if k != "LLMQ_SOCKET"}
            env["XDG_RUNTIME_DIR"] = runtime
            with mock.patch.dict(os.environ, env, clear=True), \
                    mock.patch("os.path.exists",
                               lambda p: p == "/run/llmq/llmqd.sock" or real_exists(p)):
                self.assertEqual("/run/llmq/llmqd.sock", default_socket_path())
            with mock.patch.dict(os.environ, env, clear=True):
                if not real_exists("/run/llmq/llmqd.sock"):
                    self.assertEqual(os.path.join(runtime, "llmq", "llmqd.sock"),
                                     default_socket_path())


if __name__ == "__main__":
    unittest.main()
