"""The gRPC C-core xDS conformance client: Debian's python3-grpcio (C-core 1.51).

Run it with Debian's interpreter, not a pyenv one: /usr/bin/python3 -E -s client.py ...
It follows the command-line contract shared by the three conformance clients
(test/conformance/README.md):

  GRPC_XDS_BOOTSTRAP=<file> client.py --target xds:///<name> --rpcs N
      [--metadata key=value]... [--qps Q | --sequential] [--rpc-timeout-ms T]
      [--seconds S | --until-stdin-closes]

It calls /vireo.test.Echo/Hello (test/conformance/echo.proto) without generated code: HelloRequest
and HelloReply are each one string in field 1, which is google.protobuf.StringValue on the wire.
"""

import argparse
import json
import signal
import sys
import threading
import time

import grpc
from google.protobuf.wrappers_pb2 import StringValue

METHOD = "/vireo.test.Echo/Hello"


def fail(message):
    sys.stderr.write("c-core client: %s\n" % message)
    sys.exit(2)


def empty_counts():
    return {"byBackend": {}, "byStatus": {}, "failures": 0}


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.total = empty_counts()
        self.window = empty_counts()
        self.seen = set()
        self.inflight = 0
        self.idle = threading.Condition(self.lock)

    def record(self, backend, code, details):
        with self.lock:
            for c in (self.total, self.window):
                key = str(code)
                c["byStatus"][key] = c["byStatus"].get(key, 0) + 1
                if code == 0:
                    c["byBackend"][backend] = c["byBackend"].get(backend, 0) + 1
                else:
                    c["failures"] += 1
            if code != 0:
                msg = "code=%d %s" % (code, details)
                if msg not in self.seen and len(self.seen) < 20:
                    self.seen.add(msg)
                    sys.stderr.write("c-core client: rpc failed: %s\n" % msg)
                    sys.stderr.flush()

    def take_window(self):
        with self.lock:
            w, self.window = self.window, empty_counts()
            return w


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(prog="c-core client", allow_abbrev=False)
    p.add_argument("--target", required=True)
    p.add_argument("--rpcs", type=int)
    p.add_argument("--metadata", action="append", default=[])
    p.add_argument("--qps", type=float, default=0.0)
    p.add_argument("--sequential", action="store_true")
    p.add_argument("--rpc-timeout-ms", type=float, default=5000.0)
    p.add_argument("--seconds", type=float, default=0.0)
    p.add_argument("--until-stdin-closes", action="store_true")
    a = p.parse_args()
    streaming = a.seconds > 0 or a.until_stdin_closes
    if a.rpcs is None and not streaming:
        fail("--rpcs N is required unless --seconds or --until-stdin-closes is given")
    metadata = []
    for kv in a.metadata:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            fail("--metadata wants key=value, got %r" % kv)
        metadata.append((k.lower(), v))
    timeout = a.rpc_timeout_ms / 1000.0

    channel = grpc.insecure_channel(a.target)
    hello = channel.unary_unary(
        METHOD,
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    request = StringValue(value="c-core")
    rec = Recorder()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if a.until_stdin_closes:

        def drain_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                stop.set()

        threading.Thread(target=drain_stdin, daemon=True).start()
    start = time.monotonic()
    ticker = None
    if streaming:

        def tick():
            second = 0
            while not stop.wait(max(0.0, start + second + 1 - time.monotonic())):
                second += 1
                w = rec.take_window()
                w_line = {"second": second}
                w_line.update(w)
                emit(w_line)

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()

    def done(future):
        try:
            reply = future.result()
            rec.record(reply.value, 0, "")
        except grpc.RpcError as e:
            rec.record("", e.code().value[0], e.details() or "")
        with rec.lock:
            rec.inflight -= 1
            rec.idle.notify_all()

    i = 0
    while (a.rpcs is None or i < a.rpcs) and not stop.is_set():
        if a.seconds > 0 and time.monotonic() - start >= a.seconds:
            break
        if a.qps > 0:
            due = start + i / a.qps
            delay = due - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            with rec.lock:
                rec.inflight += 1
            hello.future(request, timeout=timeout, metadata=metadata).add_done_callback(done)
        else:
            try:
                reply = hello(request, timeout=timeout, metadata=metadata)
                rec.record(reply.value, 0, "")
            except grpc.RpcError as e:
                rec.record("", e.code().value[0], e.details() or "")
        i += 1
    with rec.lock:
        while rec.inflight > 0:
            rec.idle.wait()
    stop.set()
    if ticker is not None:
        ticker.join()
    with rec.lock:
        if streaming:
            line = {"total": True, "seconds": round(time.monotonic() - start, 3)}
            line.update(rec.total)
        else:
            line = rec.total
        emit(line)
    channel.close()


if __name__ == "__main__":
    main()
