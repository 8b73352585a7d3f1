"""E-mail the overdue report: one message per recipient, with only what is theirs.

Messages are first written to an outbox folder (as .eml files) and removed only once the
server has accepted them, so a failed send is retried on the next run and the report
files themselves are never at risk. The SMTP password comes from an environment variable,
never from config.toml.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from ..errors import SettingsError
from ..files import write_new_bytes
from ..settings import SmtpSection

log = logging.getLogger(__name__)

SECURITY_CHOICES = ("starttls", "tls", "none")
MIME_TYPES = {".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              ".pdf": ("application", "pdf")}


class EmailError(SettingsError):
    """Settings for e-mail are missing or wrong; the message says what to change."""


@dataclass(frozen=True)
class Delivery:
    """One recipient's e-mail: who gets it, what it carries; `team` names the teams (or
    "caseworker list") for the X-Supportplan-Team header and the command's output."""

    team: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachments: tuple[Path, ...]


@dataclass(frozen=True)
class SendResult:
    eml: Path
    team: str
    recipients: tuple[str, ...]
    error: str | None  # None when the server accepted the message


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "report"


def build_message(delivery: Delivery, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(delivery.recipients)
    message["Subject"] = delivery.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["X-Supportplan-Team"] = delivery.team
    message.set_content(delivery.body)
    for path in delivery.attachments:
        maintype, subtype = MIME_TYPES.get(path.suffix.lower(),
                                           ("application", "octet-stream"))
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=path.name)
    return message


def queue(outbox: Path, delivery: Delivery, sender: str, stem: str) -> Path:
    """Write the message to the outbox; it stays there until a server accepts it."""
    outbox.mkdir(parents=True, exist_ok=True)
    data = build_message(delivery, sender).as_bytes(policy=policy.SMTP)
    for attempt in range(1, 1000):
        target = outbox / (f"{stem}.eml" if attempt == 1 else f"{stem}-{attempt}.eml")
        try:
            return write_new_bytes(target, data)
        except FileExistsError:
            continue
    raise EmailError(f"{outbox}: too many queued messages named {stem}; clear the outbox")


def pending(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml")) if outbox.is_dir() else []


def connect(smtp: SmtpSection) -> smtplib.SMTP:
    host, port = smtp.host, smtp.port
    security = smtp.security.lower()
    timeout = smtp.timeout_seconds
    if security not in SECURITY_CHOICES:
        raise EmailError(f'config.toml [smtp] security = "{security}": use one of '
                         f"{', '.join(SECURITY_CHOICES)}")
    user = smtp.user
    password = ""
    if user:
        env = smtp.password_env
        password = os.environ.get(env, "")
        if not password:
            raise EmailError(f"[smtp] user is set but the environment variable {env} (the "
                             "password) is empty: set it before running the report")
    # The system's certificate authorities, plus [smtp] ca_file when the server's
    # certificate comes from the organisation's own authority.
    context = ssl.create_default_context()
    ca_file = smtp.ca_file
    if ca_file:
        try:
            context.load_verify_locations(ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise EmailError(f'config.toml [smtp] ca_file = "{ca_file}": cannot read a '
                             f"certificate from it ({exc}); give a PEM file") from exc
    client: smtplib.SMTP
    if security == "tls":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
        if security == "starttls":
            client.starttls(context=context)
    if user:
        client.login(user, password)
    return client


@dataclass(frozen=True)
class OutboxClaims:
    """Who sends which queued message when several machines share the outbox (the registry
    keeps the claims): `take(key)` is true for the one process that may send the message
    with that content hash; `settle(key, sent)` ends the claim."""

    take: Callable[[str], bool]
    settle: Callable[[str, bool], None]


def _claimed(queued: Sequence[Path], claims: OutboxClaims | None
             ) -> list[tuple[Path, str, bytes]]:
    """The queued messages this process sends: (file, content hash, bytes)."""
    found = []
    for path in queued:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # sent by another machine meanwhile
            continue
        key = hashlib.sha256(data).hexdigest()
        if claims is None or claims.take(key):
            found.append((path, key, data))
    return found


def send_pending(outbox: Path, smtp: SmtpSection,
                 claims: OutboxClaims | None = None) -> list[SendResult]:
    """Send every queued message; sent ones leave the outbox, failed ones stay for next time.
    With `claims`, a message another process is sending (or has sent) is left to it."""
    queued = pending(outbox)
    if not queued:
        return []
    parser = BytesParser(policy=policy.default)
    messages = [(path, key, parser.parsebytes(data))
                for path, key, data in _claimed(queued, claims)]
    settle = claims.settle if claims is not None else (lambda _key, _sent: None)
    if not messages:
        return []
    try:
        client = connect(smtp)
    except (OSError, smtplib.SMTPException, EmailError) as exc:
        reason = f"cannot reach the mail server {smtp.host}:{smtp.port}: {exc}"
        log.warning("%s; %d message(s) stay queued", reason, len(messages))
        for _path, key, _msg in messages:
            settle(key, False)
        return [SendResult(path, str(msg["X-Supportplan-Team"] or ""), _to(msg), reason)
                for path, _key, msg in messages]
    results: list[SendResult] = []
    try:
        for path, key, msg in messages:
            team = str(msg["X-Supportplan-Team"] or "")
            try:
                refused = client.send_message(msg)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("sending %s failed: %s; it stays queued", path.name, exc)
                results.append(SendResult(path, team, _to(msg), str(exc)))
                settle(key, False)
                continue
            if refused:
                # Some recipients refused: keep a record, but do not resend to the others.
                log.warning("%s: %d recipient(s) refused", path.name, len(refused))
            settle(key, True)
            path.unlink(missing_ok=True)
            accepted = tuple(a for a in _to(msg) if a not in refused)
            results.append(SendResult(path, team, accepted,
                                      f"refused: {', '.join(refused)}" if refused else None))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return results


def _to(message: Any) -> tuple[str, ...]:
    return tuple(a.strip() for a in str(message["To"] or "").split(",") if a.strip())
