"""Who is told when a stream's verdict fails: Airflow's own notifiers, configured by an
Airflow connection (never by a secret in onceonly's settings)."""

from __future__ import annotations

from typing import Any

from onceonly.settings import Settings

#: The mail's body, rendered by Airflow with the failed task's context.
BODY = (
    "<p>The verdict of {{ dag.dag_id }} failed in run {{ run_id }} "
    "(logical date {{ logical_date }}).</p><p>{{ exception }}</p>"
    "<p>The report names every failed check and its offending rows.</p>"
)


def verdict_notifiers(settings: Settings, stream: str) -> list[Any]:
    """Failure callbacks of a transform DAG's verdict task: a mail through Airflow's SMTP
    notifier when ``ONCEONLY_ALERT_SMTP_CONN_ID`` and ``ONCEONLY_ALERT_TO`` are set."""
    if not (settings.alert_smtp_conn_id and settings.alert_to):
        return []
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return [
        SmtpNotifier(
            to=settings.alert_to,
            from_email=settings.alert_from or None,
            smtp_conn_id=settings.alert_smtp_conn_id,
            subject=f"onceonly: the {stream} verdict failed",
            html_content=BODY,
        )
    ]
