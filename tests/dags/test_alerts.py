"""A failed verdict is told by mail, through Airflow's SMTP notifier and connection, to a
real SMTP server on loopback; a verdict that holds sends nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
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


def test_a_failed_verdict_sends_one_mail_and_a_held_one_none(inbox: _Inbox, tmp_path: Path) -> None:
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
    )
    run_dags(settings, ["orders"])
    assert inbox.mails == []  # the verdict held: nobody is disturbed

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
