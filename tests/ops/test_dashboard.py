"""The Grafana dashboard (deploy/grafana/liveblog.json): a well-formed dashboard whose every panel
queries metrics a real server's /metrics exposes, with labels they carry, in valid PromQL.

Neither Grafana nor Prometheus runs here; what can go wrong without either is checked: a renamed
metric or label, a counter queried without `_total`, a panel without a query, a typo in PromQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from tests.conftest import NewLiveblog
from tests.harness import ROOT, LiveServer, Subscriber
from tests.ops import promql
from tests.ops.conftest import run_promtool

DASHBOARD = ROOT / "deploy" / "grafana" / "liveblog.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Prometheus adds `job` and `instance` to every series it scrapes, and `up` per target.
TARGET_LABELS = {"job", "instance"}
SCRAPE_SERIES = {"up": frozenset(TARGET_LABELS)}
# The series prometheus-client writes for each family of a type (counters gain `_total`).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel query and every variable's label_values() selector."""
    found = [
        (f"panel {panel['title']!r} {target['refId']}", target["expr"])
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            # label_values(selector, label) asks for what this asks, in PromQL.
            selector, label = promql.label_values(variable["query"])
            found.append((f"variable {variable['name']!r}", f"count by ({label}) ({selector})"))
    return found


def test_dashboard_is_well_formed_and_every_panel_has_a_query() -> None:
    dashboard = load()
    assert dashboard["uid"] == "liveblog" and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 39
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    # A data source variable: the dashboard imports into any Grafana, onto any Prometheus.
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]

    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    boxes: list[tuple[str, int, int, int, int]] = []
    for panel in panels(dashboard):
        box = panel["gridPos"]
        assert box["w"] > 0 and box["h"] > 0 and box["x"] >= 0 and box["x"] + box["w"] <= 24, panel
        boxes.append((panel["title"], box["x"], box["y"], box["w"], box["h"]))
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel.get("description"), panel["id"]
        assert panel["datasource"] == DATASOURCE, panel["title"]
        targets = panel.get("targets")
        assert targets, f"panel {panel['title']!r} has no query"
        refs = [target["refId"] for target in targets]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in targets:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert isinstance(target.get("expr"), str) and target["expr"].strip(), panel["title"]
    # No two panels on the same cells.
    for n, (title, x, y, w, h) in enumerate(boxes):
        for other, x2, y2, w2, h2 in boxes[n + 1 :]:
            overlap = x < x2 + w2 and x2 < x + w and y < y2 + h2 and y2 < y + h
            assert not overlap, f"{title!r} overlaps {other!r}"


def test_reading_promql() -> None:
    """tests/ops/promql.py tells metric names from functions, keywords, labels and strings."""
    query = promql.read(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job=~"$job", '
        's="x{y}"}[$__rate_interval])))'
    )
    assert query.selectors == [("a_bucket", frozenset({"job", "s"}))]
    assert query.grouping == {"le", "route"}
    query = promql.read(
        '(sum(rate(b_total{status=~"5.."}[5m])) or vector(0)) / sum(rate(b_total[5m] offset 1h30m))'
        " > bool 0.5 and on (instance) group_left (reason) c unless count(d) without (x)"
    )
    assert [name for name, _ in query.selectors] == ["b_total", "b_total", "c", "d"]
    assert query.grouping == {"instance", "reason", "x"}
    assert promql.label_values('label_values(e{job=~"$job"}, instance)') == (
        'e{job=~"$job"}',
        "instance",
    )
    with pytest.raises(ValueError, match="without a metric name"):
        promql.read('sum({__name__=~"liveblog_.+"})')


@dataclass(frozen=True)
class Series:
    family: str  # the metric's name, as app/metrics.py gives it
    labels: frozenset[str]


def exposed_series(text: str) -> dict[str, Series]:
    """Every series name /metrics can hold, with its family and label names: those on its samples
    and, for a family with no sample yet (a labelled counter nothing has touched), those
    app/metrics.py gives it."""
    defined = {
        collector._name: set(collector._labelnames)
        for collector in vars(metrics).values()
        if isinstance(collector, MetricWrapperBase)
    }
    families = list(text_string_to_metric_families(text))
    names = {family.name for family in families}
    series: dict[str, Series] = {}
    for family in families:
        if family.name.endswith("_created") and family.name.removesuffix("_created") in names:
            # prometheus-client's text format gives a counter's or histogram's creation time
            # as a gauge family of its own: that family's `_created` series, not a metric.
            continue
        labels = defined.get(family.name, set()).union(
            *(sample.labels for sample in family.samples)
        ) - {"le"}
        for suffix in SUFFIXES.get(family.type, ("",)):
            on_series = labels | {"le"} if suffix == "_bucket" else labels
            series[family.name + suffix] = Series(family.name, frozenset(on_series))
    return series


async def test_every_metric_the_dashboard_queries_is_in_metrics(
    server: LiveServer, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Against a real server's /metrics, after a reader received an entry (so the delivery
    histogram and the HTTP ones have samples): each queried series exists under that very name
    (a counter's with `_total`, a histogram's `_bucket`), each label matched or grouped by is one
    it carries, and every Liveblog metric has a panel."""
    slug = await new_liveblog()
    async with Subscriber(server, slug) as reader:
        await reader.wait_for(lambda r: bool(r.messages), what="hello")
        posted = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>Live</p>"})
        assert posted.status_code == 201, posted.text
        await reader.wait_for(lambda r: len(r.events) == 1, what="the entry")
        response = await api.get("/metrics")
    assert response.status_code == 200, response.text
    series = exposed_series(response.text)
    assert "liveblog_delivery_latency_seconds_bucket" in series
    count = next(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "liveblog_delivery_latency_seconds_count"
    )
    assert count >= 1

    problems: list[str] = []
    shown: set[str] = set()
    for where, expr in expressions(load()):
        query = promql.read(expr)
        if not query.selectors:
            problems.append(f"{where}: queries no metric: {expr}")
        carried = set(TARGET_LABELS)
        for name, labels in query.selectors:
            if name in SCRAPE_SERIES:
                known = SCRAPE_SERIES[name]
            elif name in series:
                known = series[name].labels
                shown.add(series[name].family)
            else:
                problems.append(f"{where}: {name} is not in /metrics")
                continue
            carried |= known
            if strange := labels - known - TARGET_LABELS:
                problems.append(f"{where}: {name} has no label {sorted(strange)}")
        if ungrouped := query.grouping - carried:
            problems.append(f"{where}: grouped by {sorted(ungrouped)}, which no series carries")
    assert not problems, "\n".join(problems)

    liveblog = {one.family for one in series.values() if one.family.startswith("liveblog_")}
    assert liveblog - shown == set(), "Liveblog metrics with no panel"


def test_every_query_is_valid_promql(promtool: Path, tmp_path: Path) -> None:
    """promtool parses each query, Grafana's variables replaced, as a recording rule's expr."""
    queries = expressions(load())

    def concrete(expr: str) -> str:
        expr = re.sub(r"\$__(rate_interval|interval|range)\b", "5m", expr)
        return re.sub(r"\$\{\w+\}|\$\w+", ".+", expr)  # the others are regex matchers' values

    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": concrete(expr)}
                    for n, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps(rules, indent=2))  # JSON is YAML
    result = run_promtool(promtool, "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout, result.stdout
