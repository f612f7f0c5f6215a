"""A minimal QMP client: savevm/loadvm of a lab instance bench/run started (fast lab reset)."""

import json
import socket


class Qmp(object):
    def __init__(self, path, timeout=600):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self._recv()  # greeting
        self.cmd("qmp_capabilities")

    def _recv(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        self.sock.sendall(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        while True:
            msg = self._recv()
            if "event" in msg:
                continue
            if "error" in msg:
                raise RuntimeError("QMP %s: %s" % (name, msg["error"]))
            return msg.get("return")

    def hmp(self, line):
        out = self.cmd("human-monitor-command", **{"command-line": line})
        if out and out.strip():
            raise RuntimeError("HMP %r: %s" % (line, out.strip()))
        return out

    def close(self):
        self.sock.close()
