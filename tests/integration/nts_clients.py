# SPDX-License-Identifier: LGPL-2.1-or-later
"""NTS clients for the tests of ntpsyncd serving NTS (RFC 8915): chronyd and NTPsec's ntpd, each in
a client namespace of the harness (harness.ClientLink), never touching the clock (chronyd -x;
ntpd under setpriv without CAP_SYS_TIME and with `disable ntp`), with helpers that read back
what they got: chronyc's `authdata` and `sources`, ntpq's peers and variables.

The NTS servers that ntpsyncd uses as sources are elsewhere (nts_peers.py)."""

import os
import re
import time

import harness


def _private_dir(lab, name):
    # chronyd refuses its command socket in a directory others could write to: 0700.
    d = os.path.join(lab.dir, name)
    os.makedirs(d, mode=0o700, exist_ok=True)
    os.chmod(d, 0o700)
    return d


class _NtsClient:
    """An NTS client of server_name trusting ca, in link's namespace, without the right to set the
    clock; the subclass gives its configuration file and command line."""
    conf_name = None

    def __init__(self, lab, link, server_name, ca, name, poll):
        self.lab = lab
        self.link = link
        self.server_name = server_name
        self.ca = ca
        self.name = name
        self.dir = _private_dir(lab, name)
        self.poll = poll
        self.process = None

    def start(self):
        conf = os.path.join(self.dir, self.conf_name)
        with open(conf, "w") as f:
            f.write(self.config())
        argv = harness.NO_SYS_TIME + self.argv(conf)
        self.process = self.lab.start_process(self.name, self.link.ns.exec_argv(argv))
        return self

    def stop(self):
        if self.process:
            self.process.stop()


class ChronydNtsClient(_NtsClient):
    """chronyd with one `server NAME iburst nts` line (and server_options, e.g. "xleave"), trusting `ca`,
    in link's namespace."""
    conf_name = "chrony.conf"

    def __init__(self, lab, link, server_name, ca, name="chronyd-nts", poll=0, extra_lines=(), server_options=""):
        super().__init__(lab, link, server_name, ca, name, poll)
        self.server_options = server_options
        self.dump_dir = _private_dir(lab, name + "-dump")
        self.socket = os.path.join(self.dir, "chronyd.sock")
        self.extra_lines = list(extra_lines)

    def config(self):
        return "\n".join([
            ("server %s iburst nts minpoll %d maxpoll %d " % (self.server_name, self.poll, self.poll) +
             self.server_options).rstrip(),
            "ntstrustedcerts %s" % self.ca,
            # Its own cookies kept here, never in /var/lib/chrony.
            "ntsdumpdir %s" % self.dump_dir,
            "cmdport 0",
            "bindcmdaddress %s" % self.socket,
            "driftfile %s/drift" % self.dir,
            "pidfile %s/chronyd.pid" % self.dir,
            "logdir %s" % self.dir,
        ] + self.extra_lines) + "\n"

    def argv(self, conf):
        # -x: never touches the clock; -d: foreground, log to stderr; -u root: no switch to _chrony
        return [harness.peers()["CHRONYD"], "-x", "-d", "-u", "root", "-f", conf]

    def chronyc(self, *args):
        pr = harness.peers()
        chronyc = os.path.join(os.path.dirname(pr["CHRONYD"]), "..", "bin", "chronyc")
        if not os.path.exists(chronyc):
            chronyc = "chronyc"
        p = self.link.ns.run([chronyc, "-h", self.socket, "-n"] + list(args), timeout=20)
        return p.stdout + p.stderr

    def authdata(self):
        """`chronyc -n authdata` rows as dicts: address, mode, keyid, type, klen, last, atmp,
        nak, cook, clen (as text)."""
        rows = []
        for line in self.chronyc("authdata").splitlines():
            f = line.split()
            if len(f) == 10 and f[1] in ("NTS", "SK", "-"):
                rows.append(dict(zip(("address", "mode", "keyid", "type", "klen", "last", "atmp", "nak", "cook",
                                      "clen"), f)))
        return rows

    def sources(self):
        """`chronyc -n sources` rows: {"state": "*", "address": ..., "reach": int, "line": ...}."""
        rows = []
        for line in self.chronyc("sources").splitlines():
            m = re.match(r"^\^(.)\s+(\S+)\s+(\d+)\s+(-?\d+)\s+(\d+)\s+", line)
            if m:
                rows.append({"state": m.group(1), "address": m.group(2), "stratum": int(m.group(3)),
                             "reach": int(m.group(5), 8), "line": line})
        return rows

    def wait_selected(self, address, timeout):
        """Waits until the source at address is selected (`^*`); returns its row or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in self.sources():
                if s["address"] == address and s["state"] == "*":
                    return s
            if self.process and not self.process.running():
                return None
            time.sleep(0.5)
        return None

    def ntpdata(self, address):
        """`chronyc -n ntpdata ADDRESS` as {"Key": "value"}: Authenticated, Total RX, ..."""
        data = {}
        for line in self.chronyc("ntpdata", address).splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                data[k.strip()] = v.strip()
        return data


class NtpsecNtsClient(_NtsClient):
    """NTPsec's ntpd with `server NAME nts ca CAFILE`, in link's namespace. It never disciplines
    the clock (`disable ntp`, and no CAP_SYS_TIME); its mode 6 on the namespace's loopback is
    what ntpq reads. NTPsec 1.2.2 answers no mode 6 query (ntpq: "Request timed out") from a
    configuration without a restrict line: `restrict default` and `restrict 127.0.0.1` are there
    for that."""

    conf_name = "ntp.conf"

    def __init__(self, lab, link, server_name, ca, name="ntpd-nts", poll=3):
        super().__init__(lab, link, server_name, ca, name, poll)

    def config(self):
        return "\n".join([
            "server %s nts ca %s iburst minpoll %d maxpoll %d" % (self.server_name, self.ca, self.poll, self.poll),
            "disable ntp",
            "disable kernel",
            "restrict default",
            "restrict 127.0.0.1",
            "driftfile %s/drift" % self.dir,
            "statsdir %s/" % self.dir,
        ]) + "\n"

    def argv(self, conf):
        # -n: no fork, logs to stderr
        return [harness.peers()["NTPD"], "-n", "-c", conf, "-p", os.path.join(self.dir, "ntpd.pid")]

    def ntpq(self, *commands):
        pr = harness.peers()
        argv = [harness.PYTHON3, pr["NTPQ"], "-n", "-c", "timeout 1000"]
        for c in commands:
            argv += ["-c", c]
        p = self.link.ns.run(argv + ["127.0.0.1"], env={"PYTHONPATH": pr["NTPSEC_PYTHONPATH"]}, timeout=60)
        return p.stdout + p.stderr

    def peer_variables(self):
        """`ntpq -c "rv &1"` as {"name": "value"} (the first association: our one server), and
        "status_words": the words of its status ("conf", "authenb", "auth", "reach", ...)."""
        out = self.ntpq("rv &1")
        data = {}
        for m in re.finditer(r"([\w.]+)=(\"[^\"]*\"|[^,\s]*)", out):
            data.setdefault(m.group(1), m.group(2).strip('"'))
        m = re.search(r"status=[0-9a-f]+ ([^\n]*)", out)
        data["status_words"] = [w.strip() for w in m.group(1).split(",")] if m else []
        data["_text"] = out
        return data

    def peers(self):
        """`ntpq -p` rows: {"tally": "*", "remote": ..., "refid": ..., "t": "8", "reach": int, "line"}."""
        rows = []
        for line in self.ntpq("peers").splitlines():
            m = re.match(r"^([ *+#ox.\-])(\S+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+([0-7]+)\s", line)
            if m:
                rows.append({"tally": m.group(1), "remote": m.group(2), "refid": m.group(3),
                             "stratum": int(m.group(4)), "t": m.group(5), "reach": int(m.group(8), 8),
                             "line": line})
        return rows
