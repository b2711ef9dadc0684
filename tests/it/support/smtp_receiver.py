"""A real SMTP server for pgkeel's email tests: aiosmtpd on 127.0.0.1, requiring AUTH
(PLAIN or LOGIN; allowed without TLS because it only listens on loopback) for one user and
password.

usage: smtp_receiver.py OUT_DIR USER PASSWORD

Each accepted message is written to OUT_DIR as NNN.eml (exactly as received) and NNN.json
(the envelope, the login, and the message parsed by Python's email package: subject, content
type, and each part's content type and decoded text). Prints "READY <port>" once listening,
and stops when its standard input closes.
"""

import email
import email.policy
import json
import os
import socket
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    # AUTH without TLS is deliberate here (loopback only); keep the log quiet about it.
    warnings.simplefilter("ignore")
    out_dir, user, password = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()

    class Handler:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Handler.count += 1
            base = os.path.join(out_dir, "%03d" % Handler.count)
            raw = envelope.original_content or envelope.content
            message = email.message_from_bytes(raw, policy=email.policy.default)
            parts = []
            for part in message.walk():
                if part.is_multipart():
                    continue
                parts.append(
                    {"content_type": part.get_content_type(), "text": part.get_content()}
                )
            summary = {
                "login": getattr(session, "test_login", None),
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "subject": str(message["subject"]),
                "content_type": message.get_content_type(),
                "parts": parts,
            }
            with open(base + ".eml", "wb") as f:
                f.write(raw)
            with open(base + ".json.tmp", "w") as f:
                json.dump(summary, f)
            os.rename(base + ".json.tmp", base + ".json")
            return "250 Message accepted"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user
            and auth_data.password == password
        )
        if ok:
            session.test_login = auth_data.login.decode()
        return AuthResult(success=ok, handled=False)

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    print("READY %d" % port, flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
