#!/usr/bin/env python3
"""Soak: a mixed load against one llmqd for N minutes, with RSS sampled over time
and file descriptors counted at the end. Run it through
scripts/soak.sh, which builds the ASan + UBSan llmqd this is meant for.

The load, from several threads at once, each with its own connection:
  - IPC submits with wait (mock models), streamed jobs read chunk by chunk,
    cancels of running jobs, idempotent resubmits, one subscriber to everything;
  - HTTP front requests, plain and SSE, some from clients that hang up mid-way;
  - jobs through the real HTTP upstream path, to the fake upstream of the tests,
    some of them failing (429, 500, a reset mid-stream) and retried.

Verdict:
  - RSS must flatten: the peak of the last third of the run may exceed the peak of
    the middle third by at most --rss-slack (default 10 %) plus 8 MiB;
  - descriptors must return to the idle count measured before the load;
  - llmqd must not have died and must answer daemon.status at the end;
  - under ASan, the exit at SIGTERM must be clean (leaks make it non-zero).
Prints one line per sample and a summary; exits 1 if any check fails.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from llmq_client import Client, LlmqError  # noqa: E402

TOKEN = "soak-token-0123456789abcdef"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid, pool_port=None):
    """llmqd's open descriptors; with pool_port, those that are not TCP
    connections to that port (libcurl's pool of kept-alive upstream connections,
    which stays open by design) and, separately, how many are."""
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass  # Closed meanwhile.
    if pool_port is None:
        return len(links)
    pooled_inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    remote_port = int(cols[2].rsplit(":", 1)[1], 16)
                    if remote_port == pool_port:
                        pooled_inodes.add(cols[9])
        except OSError:
            pass
    pooled = sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in pooled_inodes)
    return len(links) - pooled, pooled


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"soak: timed out waiting for {what}")


class Load:
    def __init__(self, sock, http_port, stop):
        self.sock = sock
        self.http_port = http_port
        self.stop = stop
        self.counts = {}
        self.errors = []
        self.lock = threading.Lock()

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def fail(self, what):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(what)

    def run(self, fn):
        def loop():
            rng = random.Random(hash(fn.__name__))
            while not self.stop.is_set():
                try:
                    fn(rng)
                except (LlmqError, OSError, TimeoutError, http.client.HTTPException, ValueError) as e:
                    self.fail(f"{fn.__name__}: {type(e).__name__}: {e}")
                    time.sleep(0.2)
        t = threading.Thread(target=loop, name=fn.__name__, daemon=True)
        t.start()
        return t

    # ---- IPC ------------------------------------------------------------------
    def ipc_wait(self, rng):
        with Client(self.sock, timeout=60) as c:
            for _ in range(50):
                model = rng.choice(["mock/soak", "fake/ok", "fake/fault-fail-once-500"])
                job = c.submit(model=model, prompt=f"wait {rng.random()}", max_attempts=4, wait=True,
                               tags=["soak"], client=f"w{rng.randrange(4)}")
                self.count(f"wait:{job['state']}")

    def ipc_stream(self, rng):
        with Client(self.sock, timeout=60) as c:
            for _ in range(20):
                model = rng.choice(["mock/soak-stream", "fake/ok", "fake/fault-fail-once-reset"])
                text = "".join(c.stream({"model": model, "stream": True, "max_tokens": rng.randrange(4, 64),
                                         "messages": [{"role": "user", "content": "stream me"}]}))
                self.count("stream" if text else "stream:empty")

    def ipc_cancel(self, rng):
        with Client(self.sock, timeout=60) as c:
            ack = c.submit({"model": "mock/slow", "max_tokens": 200, "stream": True,
                            "messages": [{"role": "user", "content": "to be cancelled"}]})
            time.sleep(rng.random() * 0.05)
            try:
                c.cancel(ack["job_id"])
                self.count("cancel")
            except LlmqError:
                self.count("cancel:late")
            key = f"soak-{rng.randrange(200)}"
            c.submit(model="mock/soak", prompt="idem", idempotency_key=key)
            self.count("idempotent")

    def ipc_watch(self, rng):
        with Client(self.sock, timeout=5) as c:
            with c.subscribe(all_jobs=True, timeout=2) as events:
                deadline = time.time() + rng.uniform(2, 10)
                while time.time() < deadline and not self.stop.is_set():
                    try:
                        events.next(timeout=1)
                        self.count("event")
                    except TimeoutError:
                        pass

    # ---- HTTP front -----------------------------------------------------------
    def http_requests(self, rng):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=60)
        try:
            for _ in range(20):
                stream = rng.random() < 0.4
                body = json.dumps({"model": rng.choice(["mock/http", "fake/ok"]), "stream": stream,
                                   "messages": [{"role": "user", "content": "over http"}],
                                   "max_tokens": rng.randrange(2, 40)})
                conn.request("POST", "/v1/chat/completions", body,
                             {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                self.count(f"http:{resp.status}")
                if resp.status != 200:
                    self.fail(f"http {resp.status}: {data[:200]!r}")
        finally:
            conn.close()

    def http_hangups(self, rng):
        s = socket.create_connection(("127.0.0.1", self.http_port), timeout=10)
        body = json.dumps({"model": "mock/slow", "stream": rng.random() < 0.5, "max_tokens": 100,
                           "messages": [{"role": "user", "content": "bye"}]})
        s.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
        time.sleep(rng.random() * 0.1)
        s.close()
        self.count("http:hangup")
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llmqd", required=True)
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--sample-s", type=float, default=5)
    ap.add_argument("--rss-slack", type=float, default=0.10)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="llmq-soak-")
    fake = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "fake_upstream", "fake_upstream.py"),
                             "--port", "0"], stdout=subprocess.PIPE, text=True)
    daemon = None
    try:
        fake_port = json.loads(fake.stdout.readline())["port"]
        sock = os.path.join(work, "llmqd.sock")
        with open(os.path.join(work, "llmqd.toml"), "w") as f:
            f.write(f"""[api]
listen = "127.0.0.1:0"
token = "{TOKEN}"
[retry]
base_ms = 20
cap_ms = 200
[catalog]
refresh_at_start = false
refresh_s = 0
[openrouter]
credit_check_s = 0
[retention]
finished_jobs_days = 0.00001
check_s = 5
[mock]
chunk_delay_ms = 2
[[providers]]
name = "fake"
base_url = "http://127.0.0.1:{fake_port}"
models = ["fake/*"]
""")
        log = open(os.path.join(work, "llmqd.log"), "w")
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=1"))
        daemon = subprocess.Popen([args.llmqd, "--socket", sock, "--db", os.path.join(work, "llmq.db"),
                                   "--config", os.path.join(work, "llmqd.toml")],
                                  stdout=log, stderr=subprocess.STDOUT, env=env)
        log_path = os.path.join(work, "llmqd.log")

        def api_port():
            with open(log_path) as f:
                text = f.read()
            marker = "API on http://127.0.0.1:"
            at = text.find(marker)
            return int(text[at + len(marker):].split("/")[0]) if at >= 0 else 0
        wait_for(lambda: os.path.exists(sock) and api_port() > 0, 60, "llmqd to listen")
        http_port = api_port()
        with Client(sock, timeout=30) as c:
            c.daemon_status()
        time.sleep(1)
        idle_fds = fd_count(daemon.pid)
        start_rss = rss_kib(daemon.pid)
        print(f"soak: llmqd pid {daemon.pid}, idle fds {idle_fds}, RSS {start_rss / 1024:.1f} MiB, "
              f"{args.minutes} min of mixed load", flush=True)

        stop = threading.Event()
        load = Load(sock, http_port, stop)
        threads = [load.run(fn) for fn in (load.ipc_wait, load.ipc_wait, load.ipc_stream, load.ipc_cancel,
                                           load.ipc_watch, load.http_requests, load.http_requests,
                                           load.http_hangups)]
        samples = []
        t0 = time.time()
        end = t0 + args.minutes * 60
        while time.time() < end:
            time.sleep(args.sample_s)
            if daemon.poll() is not None:
                raise SystemExit(f"soak: llmqd died with {daemon.returncode}; see {log_path}")
            rss = rss_kib(daemon.pid)
            samples.append((time.time() - t0, rss))
            with load.lock:
                done = sum(v for k, v in load.counts.items() if not k.startswith("event"))
            print(f"  t={samples[-1][0]:6.0f}s  RSS {rss / 1024:7.1f} MiB  fds {fd_count(daemon.pid):4d}  "
                  f"operations {done}", flush=True)
        stop.set()
        for t in threads:
            t.join(timeout=90)
        # Let what is queued finish, then measure idle again.
        with Client(sock, timeout=30) as c:
            def idle():
                q = c.daemon_status()["queue"]
                return q.get("queued", 0) + q.get("running", 0) + q.get("retry_wait", 0) == 0
            wait_for(idle, 120, "the queue to drain")
        time.sleep(2)
        end_fds, pooled = fd_count(daemon.pid, fake_port)
        third = max(1, len(samples) // 3)
        mid_peak = max(r for _, r in samples[third:2 * third]) if len(samples) >= 3 else samples[0][1]
        last_peak = max(r for _, r in samples[-third:])
        ok = True
        print("summary")
        print(f"  operations: {dict(sorted(load.counts.items()))}")
        if load.errors:
            print(f"  client-side errors (first {len(load.errors)}): {load.errors}")
        allowed = mid_peak * (1 + args.rss_slack) + 8 * 1024
        flat = last_peak <= allowed
        ok &= flat
        print(f"  RSS: start {start_rss / 1024:.1f} MiB, peak of middle third {mid_peak / 1024:.1f} MiB, "
              f"peak of last third {last_peak / 1024:.1f} MiB (allowed {allowed / 1024:.1f}): "
              f"{'flat' if flat else 'STILL GROWING'}")
        fds_ok = end_fds <= idle_fds
        ok &= fds_ok
        print(f"  file descriptors: idle {idle_fds}, after the load {end_fds} "
              f"(plus {pooled} kept-alive upstream connections in libcurl's pool): "
              f"{'back' if fds_ok else 'LEAKED'}")
        daemon.send_signal(signal.SIGTERM)
        rc = daemon.wait(timeout=120)
        daemon = None
        clean = rc == 0
        ok &= clean
        print(f"  llmqd exit at SIGTERM: {rc} ({'clean' if clean else 'NOT clean: see ' + log_path})")
        if ok:
            shutil.rmtree(work, ignore_errors=True)
            print("soak: PASSED")
        else:
            print(f"soak: FAILED; the daemon's directory is kept: {work}")
        return 0 if ok else 1
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        fake.terminate()
        try:
            fake.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fake.kill()
            fake.wait()


if __name__ == "__main__":
    sys.exit(main())
