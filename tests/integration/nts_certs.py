# SPDX-License-Identifier: LGPL-2.1-or-later
"""Certificates for NTS tests, made with openssl(1) in a directory of the test's: a CA, and server
certificates for host names signed by it (or by nobody the client trusts). ECDSA P-256: quick to
make, and what chronyd (GnuTLS), NTPsec (OpenSSL) and ntpsyncd all accept."""

import os
import subprocess


class Pki:
    """A certificate authority in `directory`; server() signs certificates for names."""

    def __init__(self, directory, name="ntpsync test CA"):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.ca_key = os.path.join(directory, "ca-key.pem")
        self.ca = os.path.join(directory, "ca.pem")
        self._openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", self.ca_key, "-out", self.ca, "-days", "30", "-subj", "/CN=%s" % name,
                      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")

    def _openssl(self, *args):
        p = subprocess.run(["openssl"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, cwd=self.dir)
        if p.returncode != 0:
            raise RuntimeError("openssl %s failed:\n%s" % (" ".join(args), p.stderr))

    def server(self, names, tag=None, expired=False):
        """A server certificate for names (DNS names or IP addresses; the first is the subject):
        returns (chain, key), the chain being the certificate followed by the CA's, in PEM."""
        tag = tag or names[0]
        key = os.path.join(self.dir, "%s-key.pem" % tag)
        csr = os.path.join(self.dir, "%s.csr" % tag)
        cert = os.path.join(self.dir, "%s-cert.pem" % tag)
        chain = os.path.join(self.dir, "%s-chain.pem" % tag)
        ext = os.path.join(self.dir, "%s.ext" % tag)
        alt = ",".join(("IP:%s" if _is_address(n) else "DNS:%s") % n for n in names)
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n" % alt)
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", key, "-out", csr, "-subj", "/CN=%s" % names[0])
        # expired: valid until a day ago (openssl takes a negative number of days).
        dates = ["-days", "-1" if expired else "30"]
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial",
                      "-out", cert, "-extfile", ext, *dates)
        with open(chain, "w") as out:
            for part in (cert, self.ca):
                with open(part) as f:
                    out.write(f.read())
        os.chmod(key, 0o644)  # peers run as root here, but some drop privileges before reading
        return chain, key


def _is_address(name):
    return ":" in name or name.replace(".", "").isdigit()
