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


#: The Slack message, rendered by Airflow with the failed task's context (plain text).
SLACK_TEXT = (
    "onceonly: the verdict of {{ dag.dag_id }} failed in run {{ run_id }} "
    "(logical date {{ logical_date }}): {{ exception }}. "
    "The report names every failed check and its offending rows."
)


def verdict_notifiers(settings: Settings, stream: str) -> list[Any]:
    """Failure callbacks of a transform DAG's verdict task: a mail through Airflow's SMTP
    notifier when ``ONCEONLY_ALERT_SMTP_CONN_ID`` and ``ONCEONLY_ALERT_TO`` are set, a
    Slack message through its incoming-webhook notifier when
    ``ONCEONLY_ALERT_SLACK_CONN_ID`` is set."""
    notifiers: list[Any] = []
    if settings.alert_slack_conn_id:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        notifiers.append(
            SlackWebhookNotifier(
                slack_webhook_conn_id=settings.alert_slack_conn_id, text=SLACK_TEXT
            )
        )
    if not (settings.alert_smtp_conn_id and settings.alert_to):
        return notifiers
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return [
        *notifiers,
        SmtpNotifier(
            to=settings.alert_to,
            from_email=settings.alert_from or None,
            smtp_conn_id=settings.alert_smtp_conn_id,
            subject=f"onceonly: the {stream} verdict failed",
            html_content=BODY,
        ),
    ]
