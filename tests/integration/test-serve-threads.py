#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Serving on several threads (`serve threads`, by default one per CPU): the work spreads over
them, and the rate limit holds per client address whichever thread a request reaches.

Topology: D runs ntpsyncd (`serve on`, `local stratum 10`, `restrict default limited kod`, the
flood's prefix without `limited`). F (198.51.100.2/24) floods with bench/ntpload from 4096
addresses of 198.18.0.0/16 at FLOOD_RATE requests/s; C (203.0.113.2/24) is a client that opens a
new socket, so a new source port, for each of its requests, as chronyd does, so that the
kernel's SO_REUSEPORT hash sends them to any thread.

- The daemon runs as many serving threads as the CPUs it may use (named ntpsyncd-srv1.. beside
  the main thread), and with `serve threads 1` none beside the main one.
- Under the flood each serving thread (the main one included) has used a fair share of the CPU
  time the serving took (/proc/PID/task/TID/stat): the kernel spread the clients, and every
  thread answered its share (ntpload counts the answers).
- As under systemd, where ntpsyncd.socket's socket is root's and the daemon (user ntpsync) may
  not join it with SO_REUSEPORT sockets of its own: given port 123 as a passed socket without
  SO_REUSEPORT, the threads read that one socket together (and say so), and the flood still
  spreads over them.
- C's REQUESTS requests, about 0.1 s apart from as many ports, get exactly one answer with the time
  (its first) and then at most one RATE kiss per `minimum` (2 s): one table for the client, where
  a table per thread would answer it once per thread."""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FLOOD_RATE = 20000
FLOOD_SECONDS = 4
REQUESTS = 40
FAIR_SHARE = 0.5             # each thread's CPU time at least this fraction of an even split

# Run in C's namespace: a new socket per request, the answers collected per request.
NEW_PORT_CLIENT = r"""
import json, socket, struct, sys, time
server, n = sys.argv[1], int(sys.argv[2])
answers, ports, sockets = [], set(), []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    ports.add(s.getsockname()[1])
    request = bytes([0x23]) + bytes(39) + struct.pack("!Q", 0x1000 + i)
    s.sendto(request, (server, 123))
    s.settimeout(0.05)
    try:
        data = s.recv(1024)
        answers.append({"stratum": data[1], "kod": data[12:16].rstrip(b"\0").decode() if data[1] == 0 else None})
    except socket.timeout:
        pass
    sockets.append(s)  # kept open: no port comes back for a later request
    time.sleep(0.05)
print(json.dumps({"answers": answers, "ports": len(ports)}))
"""


# The launcher: [::]:123 passed as systemd passes ntpsyncd.socket's, without SO_REUSEPORT.
UDP_SOCKET_ACTIVATE = r"""
import os, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 123))
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="ntpsyncd.socket")
os.execv(sys.argv[1], sys.argv[1:])
"""


def ntpload_path():
    path = os.environ.get("NTPLOAD") or os.path.join(harness.SOURCE_ROOT, "build", "bench", "ntpload")
    if not os.access(path, os.X_OK):
        raise harness.SetupError("bench/ntpload not built (set NTPLOAD or build build/bench/ntpload)")
    return path


def threads_of(pid):
    """{tid: (name, CPU ticks)} of a process."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            stat = f.read()
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    return out


def serving_threads(pid):
    """{tid: (name, ticks)} of the main thread and the ntpsyncd-srv ones."""
    return {tid: v for tid, v in threads_of(pid).items() if tid == pid or v[0].startswith("ntpsyncd-srv")}


class TestServeThreads(unittest.TestCase):
    def setUp(self):
        harness.require_ntpsyncd()
        self.lab = harness.Lab("thr")
        self.addCleanup(self.lab.close)
        self.client = self.lab.add_client("203.0.113", "2001:db8:c2::")
        self.flooder = self.lab.add_client("198.51.100", "2001:db8:c1::", routed_prefix="198.18.0.0/15")

    def start(self, extra=(), launcher=()):
        d = self.lab.ready_daemon(["serve on", "local stratum 10", "restrict default limited kod",
                                   "restrict 198.18.0.0 mask 255.254.0.0"] + list(extra), launcher=launcher)
        self.addCleanup(lambda: d.process.running() and d.stop())
        return d

    def test_one_thread(self):
        d = self.start(["serve threads 1"])
        self.assertEqual(list(serving_threads(d.process.pid)), [d.process.pid])
        self.assertIsNotNone(self.client.probe(self.client.server_v4), "not served on one thread")

    def check_threads(self, d):
        """The number of CPUs: how many threads serve."""
        cpus = min(len(os.sched_getaffinity(0)), 16)
        names = sorted(v[0] for v in serving_threads(d.process.pid).values())
        self.assertEqual(len(names), cpus, "serving threads: %r, CPUs %d" % (names, cpus))
        self.assertEqual(names[1:], sorted("ntpsyncd-srv%d" % i for i in range(1, cpus)))
        return cpus

    def flood_spreads(self, d, cpus):
        pid = d.process.pid
        with self.subTest("the flood spreads over the threads"):
            before = serving_threads(pid)
            p = self.flooder.run([ntpload_path(), "-s", self.flooder.server_v4, "-S", "198.18.0.0/16", "-n", "4096",
                                  "-r", str(FLOOD_RATE), "-d", str(FLOOD_SECONDS), "-w", "1", "-P", "16"],
                                 timeout=FLOOD_SECONDS + 30)
            self.assertEqual(p.returncode, 0, p.stderr)
            after = serving_threads(pid)
            load = json.loads(p.stdout)
            harness.log("flood: %s" % p.stdout.strip())
            self.assertGreaterEqual(load["replies"], 0.9 * load["sent"], load)
            ticks = {after[t][0]: after[t][1] - before[t][1] for t in after}
            harness.log("CPU ticks per serving thread during the flood: %r" % ticks)
            total = sum(ticks.values())
            self.assertGreater(total, 0)
            if cpus > 1:
                for name, t in ticks.items():
                    self.assertGreaterEqual(t, FAIR_SHARE * total / cpus, "%s did not take its share: %r" % (name, ticks))

    def test_passed_socket_read_together(self):
        d = self.start(launcher=[harness.PYTHON3, "-c", UDP_SOCKET_ACTIVATE])
        cpus = self.check_threads(d)
        if cpus > 1:
            self.assertIn("Serving threads read the main thread's socket", d.process.stderr())
        self.flood_spreads(d, cpus)
        self.assertIsNotNone(self.client.probe(self.client.server_v4), "not served on the passed socket")

    def test_spread_and_shared_limit(self):
        d = self.start()
        self.assertNotIn("Serving threads read the main thread's socket", d.process.stderr())
        self.flood_spreads(d, self.check_threads(d))

        with self.subTest("one rate limit per client across the threads"):
            p = self.client.run([harness.PYTHON3, "-c", NEW_PORT_CLIENT, self.client.server_v4, str(REQUESTS)],
                                timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            result = json.loads(p.stdout)
            harness.log("client changing ports: %r" % result)
            self.assertEqual(result["ports"], REQUESTS)
            timely = [a for a in result["answers"] if a["stratum"] == 10]
            kisses = [a for a in result["answers"] if a["stratum"] == 0]
            self.assertEqual(len(timely), 1, result)
            self.assertTrue(all(a["kod"] == "RATE" for a in kisses), result)
            # 40 requests 0.1 s apart: 4 s, one kiss per 2 s at most.
            self.assertLessEqual(len(kisses), 3, result)

        self.assertTrue(d.process.running(), d.process.stderr()[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
