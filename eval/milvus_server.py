"""A local Milvus server for tests and benchmarks: milvus-lite's gRPC server (Milvus's
wire protocol, in Python) as a subprocess on a free loopback port.

milvus-lite 3.2 serves with `milvus-lite server --data-dir D --host H --port P`
(milvus_lite/cmdline.py, binding 0.0.0.0 unless told). Its gRPC server keeps gRPC's
default ping policy, though, while pymilvus pings every 10 s even when idle: after a
minute or so of an idle client the server answers "too many pings" and closes the
channel, which pymilvus shares among all its clients of that address. Milvus itself
permits those pings, so `serve` (run as `python -m eval.milvus_server`) builds the same
server from milvus-lite's parts with Milvus's policy, always on the loopback address.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def lite_server(folder: Path, port: int | None = None, wait: float = 60.0) -> Iterator[str]:
    """Start milvus-lite with its data in `folder`, yield its URI once it answers, stop it."""
    from pymilvus import MilvusClient

    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "eval.milvus_server", str(folder / "data"), str(port)],
            stdout=log, stderr=subprocess.STDOUT)
        uri = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + wait
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"milvus-lite exited: {log_path.read_text()[-2000:]}")
                try:
                    with socket.create_connection((HOST, port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"milvus-lite did not listen within {wait} s"
                                           ) from None
                    time.sleep(0.1)
            MilvusClient(uri=uri, timeout=30).get_server_version()  # it answers, too
            yield uri
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


# Milvus's own server policy: clients may ping every 5 s, also between calls.
PING_POLICY = [("grpc.http2.min_ping_interval_without_data_ms", 5000),
               ("grpc.http2.max_ping_strikes", 0),
               ("grpc.keepalive_permit_without_calls", 1)]


def serve(data_dir: str, port: int) -> None:
    """milvus-lite's run_server, with Milvus's ping policy, on HOST:port, until killed."""
    from concurrent import futures

    import grpc
    from milvus_lite.adapter.grpc import server as lite
    from milvus_lite.adapter.grpc.servicer import MilvusServicer
    from milvus_lite.db import MilvusLite
    from pymilvus.grpc_gen import milvus_pb2_grpc

    db = MilvusLite(data_dir)
    size = lite._MAX_MESSAGE_SIZE
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=lite.DEFAULT_MAX_WORKERS),
                         options=[("grpc.max_receive_message_length", size),
                                  ("grpc.max_send_message_length", size), *PING_POLICY])
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(db), server)
    server.add_insecure_port(f"{HOST}:{port}")
    server.start()
    # terminate() stops it as Ctrl-C would: requests drain and the data folder closes
    signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=2))
    print(f"milvus-lite serving on {HOST}:{port}", flush=True)
    try:
        server.wait_for_termination()
    finally:
        server.stop(grace=5)
        db.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
