"""A failed verdict is told by mail and on Slack, through Airflow's SMTP and Slack webhook
notifiers and connections, to a real SMTP server and an HTTP webhook on loopback; a
verdict that holds sends nothing."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from onceonly.generate.writer import generate
from onceonly.orchestration.runner import DagRunFailed, run_dag, run_dags
from onceonly.settings import Settings
from onceonly.targets import open_target


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Inbox]:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = _Inbox()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONCEONLY_SMTP",
        f"smtp://127.0.0.1:{port}/?disable_ssl=true&disable_tls=true&timeout=10&retry_limit=0",
    )
    try:
        yield handler
    finally:
        server.stop()


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    """An incoming webhook on loopback answering as Slack does ("ok"): the posted bodies."""
    posted: list[dict] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posted.append({"path": self.path, **json.loads(body)})
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret"
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONCEONLY_SLACK", json.dumps({"conn_type": "slackwebhook", "password": url})
    )
    try:
        yield posted
    finally:
        server.shutdown()
        server.server_close()


def test_a_failed_verdict_sends_one_mail_and_one_slack_message_and_a_held_one_none(
    inbox: _Inbox, slack: list[dict], tmp_path: Path
) -> None:
    zone = tmp_path / "zone"
    generate(zone, n_events=300, days=1, seed=3, profile="messy")
    db = tmp_path / "w.duckdb"
    settings = Settings(
        target="duckdb",
        duckdb_path=db,
        landing=zone,
        reports_dir=tmp_path / "reports",
        retry_delay_seconds=0.0,
        alert_smtp_conn_id="onceonly_smtp",
        alert_to="analyst@example.com",
        alert_from="onceonly@example.com",
        alert_slack_conn_id="onceonly_slack",
    )
    run_dags(settings, ["orders"])
    assert inbox.mails == [] and slack == []  # the verdict held: nobody is disturbed

    # a copy written straight into the facts: the checkpoint's key check fails the verdict
    target = open_target(settings)
    try:
        target.query(
            "insert into analytics.fct_orders_events select * from analytics.fct_orders_events "
            "where event_id = (select min(event_id) from analytics.fct_orders_events)"
        )
    finally:
        target.close()
    with pytest.raises(DagRunFailed, match="verdict"):
        run_dag(settings, "transform_orders")
    assert len(inbox.mails) == 1, inbox.mails
    to, mail = inbox.mails[0]
    assert to == ["analyst@example.com"] and mail["From"] == "onceonly@example.com"
    assert mail["Subject"] == "onceonly: the orders verdict failed"
    body = "".join(
        str(part.get_payload(decode=True), "utf-8")
        for part in mail.walk()
        if part.get_content_type() == "text/html"
    )
    assert "transform_orders" in body and "key_unique" in body, body
    [message] = slack
    assert message["path"] == "/services/T000/B000/secret"
    assert "transform_orders" in message["text"] and "key_unique" in message["text"], message
