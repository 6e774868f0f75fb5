"""What operators graph: counters and histograms in Prometheus' text format, one registry per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
_MINUTE, _HOUR = 60.0, 3600.0


class Metrics:
    """The process's metrics. Labels never carry a person, a channel or concern text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.concerns_raised = Counter(
            "huddlebot_concerns_raised", "Concerns raised", ["severity", "anonymity"], registry=r
        )
        self.time_to_acknowledge = Histogram(
            "huddlebot_time_to_acknowledge_seconds",
            "From a concern raised to its acknowledgement",
            ["severity"],
            registry=r,
            buckets=(
                _MINUTE,
                5 * _MINUTE,
                15 * _MINUTE,
                30 * _MINUTE,
                _HOUR,
                4 * _HOUR,
                24 * _HOUR,
                72 * _HOUR,
            ),
        )
        self.escalations = Counter("huddlebot_escalations", "Escalation steps taken", ["level"], registry=r)
        self.huddles_opened = Counter("huddlebot_huddle_runs_opened", "Huddle runs opened", registry=r)
        self.huddles_missed = Counter(
            "huddlebot_huddle_runs_missed", "Huddle runs missed (bot down past grace)", registry=r
        )
        self.prompts_posted = Counter(
            "huddlebot_huddle_prompts_posted", "Huddle prompts delivered", ["platform"], registry=r
        )
        self.deliveries = Counter(
            "huddlebot_deliveries", "Outbox deliveries by result", ["platform", "result"], registry=r
        )
        self.outbox_lag = Histogram(
            "huddlebot_outbox_lag_seconds",
            "From a row falling due to its delivery",
            ["platform"],
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
        )
        self.outbox_oldest_due = Gauge(
            "huddlebot_outbox_oldest_due_seconds",
            "Age of the oldest outbox row that is due and not sent",
            registry=r,
        )
        self.failed_passes = Counter(
            "huddlebot_outbox_failed_passes",
            "Delivery passes (or parts of one) that failed and will be retried: mostly the database away",
            registry=r,
        )
        self.delivery_running = Gauge(
            "huddlebot_outbox_delivery_running", "1 while this process's delivery loop runs", registry=r
        )
        self.dead_letters = Gauge(
            "huddlebot_outbox_dead_letters", "Deliveries that failed for good", registry=r
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
