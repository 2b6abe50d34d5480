#!/usr/bin/env python3
"""Unit tests of guest/three-level/qmp.c, the QMP client of L1's /init,
built with the host's gcc: against a scripted QMP server (messages split
across reads, several in one read, events before a reply, an "event" key
inside a reply), and against the host's qemu-system-aarch64 (-S, two QMP
sockets).

Run: python3 -m unittest tests/test_qmp.py
"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(TOP, "guest", "three-level", "qmp.c")
QEMU = shutil.which("qemu-system-aarch64")
GCC = shutil.which("gcc")

TMP = None
QMP = None

GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 3, "minor": 1, "major": 11}, '
            b'"package": ""}, "capabilities": []}}\r\n')
RESET = (b'{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET", '
         b'"data": {"guest": false, "reason": "host-qmp-system-reset"}}\r\n')


def setUpModule():
    global TMP, QMP
    if not GCC:
        raise unittest.SkipTest("no gcc on this host")
    TMP = tempfile.mkdtemp(prefix="test_qmp.")
    QMP = os.path.join(TMP, "qmp")
    subprocess.run([GCC, "-std=c11", "-static", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-o", QMP, SRC], check=True)


def tearDownModule():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def qmp(*args, timeout=20):
    """Run the client; (exit status, stdout + stderr)."""
    p = subprocess.run([QMP] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return p.returncode, p.stdout


class Scripted:
    """A one-connection QMP server on a unix socket: sends the greeting,
    then for each line it reads sends the next answer of SCRIPT (a list
    of byte strings, each sent in pieces of CHUNK bytes); closes the
    connection after the last answer unless HOLD."""

    def __init__(self, script, chunk=5, greeting=GREETING, hold=True):
        self.path = os.path.join(TMP, "scripted-%d.sock" % id(self))
        self.script = list(script)
        self.chunk = chunk
        self.greeting = greeting
        self.hold = hold
        self.received = []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(1)
        self.srv.settimeout(10)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def send(self, conn, data):
        try:
            for i in range(0, len(data), self.chunk):
                conn.sendall(data[i:i + self.chunk])
                time.sleep(0.001)
        except OSError:
            pass  # the client is gone: it had what it wanted

    def serve(self):
        conn, _ = self.srv.accept()
        conn.settimeout(10)
        with conn:
            self.send(conn, self.greeting)
            f = conn.makefile("rb")
            for answer in self.script:
                line = f.readline()
                if not line:
                    return
                self.received.append(line.decode().strip())
                self.send(conn, answer)
            if self.hold:
                # stay until the client is done
                f.read()

    def close(self):
        self.thread.join(10)
        self.srv.close()
        os.unlink(self.path)


class TestScripted(unittest.TestCase):
    def run_script(self, script, *args, secs="10", **kw):
        s = Scripted(script, **kw)
        try:
            rc, out = qmp(s.path, "-t", secs, *args)
        finally:
            s.close()
        return rc, out, s.received

    def test_split_and_merged_messages(self):
        # reply 1 in 3-byte pieces; reply 2 and an event in one piece
        rc, out, got = self.run_script(
            [b'{"return": {}}\r\n', b'{"return": {"status": "running"}}\n' + RESET],
            "query-status", "-w", "RESET", chunk=3)
        self.assertEqual(rc, 0, out)
        self.assertEqual(got, ['{"execute": "qmp_capabilities"}', '{"execute": "query-status"}'])
        self.assertIn('qmp: reply {"return": {"status": "running"}}', out)
        self.assertIn("qmp: matched event=RESET", out)

    def test_event_before_reply(self):
        # the reply is the first message after the command that is no event
        rc, out, _ = self.run_script(
            [b'{"return": {}}\n', RESET + b'{"error": {"class": "GenericError", "desc": "no"}}\n'],
            '{"execute": "system_reset"}')
        self.assertEqual(rc, 1, out)
        self.assertIn('"event": "RESET"', out)
        self.assertIn("qmp: error class=GenericError desc=no", out)

    def test_nested_event_key_is_not_an_event(self):
        # "event" below the top level (query-qmp-schema has such) is data
        reply = b'{"return": [{"name": "RESET", "meta-type": "event", "event": "RESET"}]}\n'
        rc, out, _ = self.run_script([b'{"return": {}}\n', reply],
                                     "query-qmp-schema", "-w", "RESET", "-m", "x", secs="1")
        self.assertEqual(rc, 2, out)
        self.assertIn("qmp: reply", out)
        self.assertNotIn("qmp: event", out)
        self.assertIn("qmp: timeout waiting=RESET", out)

    def test_pretty_messages_on_one_line(self):
        pretty = b'{\n    "return": {\n        "status": "paused"\n    }\n}\n'
        rc, out, _ = self.run_script([b'{"return": {}}\n', pretty], "query-status")
        self.assertEqual(rc, 0, out)
        self.assertIn('qmp: reply {"return": {"status": "paused"}}', out)

    def test_closed_by_qemu(self):
        rc, out, _ = self.run_script([b'{"return": {}}\n'], "query-status", hold=False)
        self.assertEqual(rc, 3, out)
        self.assertIn("error=closed-by-qemu waiting=reply", out)

    def test_bad_arguments(self):
        for args in (['{"execute": "x"'], ["a b"], ["-m", "x"], ["-t", "0"]):
            rc, out = qmp(os.path.join(TMP, "none.sock"), *args)
            self.assertEqual(rc, 3, (args, out))

    def test_connect_deadline(self):
        rc, out = qmp(os.path.join(TMP, "none.sock"), "-t", "0.3", "query-status")
        self.assertEqual(rc, 2, out)
        self.assertIn("qmp: timeout waiting=connect", out)

    def test_connect_retry(self):
        # the socket appears after the client has started
        path = os.path.join(TMP, "late.sock")
        p = subprocess.Popen([QMP, path, "-t", "10", "query-status"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        time.sleep(0.3)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        srv.settimeout(10)
        conn, _ = srv.accept()
        with conn:
            conn.sendall(GREETING)
            f = conn.makefile("rb")
            f.readline()
            conn.sendall(b'{"return": {}}\n')
            f.readline()
            conn.sendall(b'{"return": {"status": "prelaunch"}}\n')
            out, _ = p.communicate(timeout=10)
        srv.close()
        self.assertEqual(p.returncode, 0, out)
        self.assertIn('"status": "prelaunch"', out)


@unittest.skipUnless(QEMU, "no qemu-system-aarch64 on this host")
class TestQemu(unittest.TestCase):
    """Against the host's QEMU, stopped (-S), with two QMP sockets: a
    socket serves one client at a time."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.sock = [os.path.join(self.dir, "qmp%d.sock" % i) for i in (1, 2)]
        self.qemu = subprocess.Popen(
            [QEMU, "-M", "virt", "-nodefaults", "-display", "none", "-S"] +
            sum((["-qmp", "unix:%s,server=on,wait=off" % s] for s in self.sock), []),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def tearDown(self):
        if self.qemu.poll() is None:
            self.qemu.kill()
        self.qemu.wait()

    def test_query_status(self):
        rc, out = qmp(self.sock[0], "-t", "10", '{"execute": "query-status"}')
        self.assertEqual(rc, 0, out)
        self.assertIn("qmp: greeting {\"QMP\"", out)
        self.assertIn('"status": "prelaunch"', out)

    def test_error(self):
        rc, out = qmp(self.sock[0], "-t", "10", '{"execute": "no-such-command"}', "query-status")
        self.assertEqual(rc, 1, out)
        self.assertIn("qmp: error class=CommandNotFound desc=", out)
        # the commands after the failed one are not sent
        self.assertNotIn("query-status", out)
        rc, out = qmp(self.sock[0], "-t", "10",
                      '{"execute": "device_del", "arguments": {"id": "nvme0"}}')
        self.assertEqual(rc, 1, out)
        self.assertIn("qmp: error class=DeviceNotFound desc=Device 'nvme0' not found", out)

    def test_wait_for_event_from_other_client(self):
        waiter = subprocess.Popen([QMP, self.sock[1], "-t", "10", "-w", "RESET"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen = []
        for line in waiter.stdout:
            seen.append(line)
            if line.startswith("qmp: waiting"):
                break
        rc, out = qmp(self.sock[0], "-t", "10", "system_reset")
        self.assertEqual(rc, 0, out)
        rest, _ = waiter.communicate(timeout=15)
        out = "".join(seen) + rest
        self.assertEqual(waiter.returncode, 0, out)
        self.assertIn('"event": "RESET"', out)
        self.assertIn("qmp: matched event=RESET", out)

    def test_wait_in_same_connection(self):
        rc, out = qmp(self.sock[0], "-t", "10", "system_reset", "-w", "RESET",
                      "-m", "host-qmp-system-reset")
        self.assertEqual(rc, 0, out)
        self.assertIn("qmp: matched event=RESET", out)

    def test_wait_timeout(self):
        rc, out = qmp(self.sock[0], "-t", "1.5", "-w", "RESET")
        self.assertEqual(rc, 2, out)
        self.assertIn("qmp: timeout waiting=RESET seconds=1.5", out)
        # an event of that name whose data does not match is not it
        rc, out = qmp(self.sock[0], "-t", "1.5", "system_reset", "-w", "RESET", "-m", "guest-reset")
        self.assertEqual(rc, 2, out)
        self.assertIn('"event": "RESET"', out)
        self.assertIn("qmp: timeout waiting=RESET", out)

    def test_quit(self):
        rc, out = qmp(self.sock[0], "-t", "10", "quit")
        self.assertEqual(rc, 0, out)
        self.assertIn('"event": "SHUTDOWN"', out)
        self.assertEqual(self.qemu.wait(timeout=10), 0)


if __name__ == "__main__":
    unittest.main()
