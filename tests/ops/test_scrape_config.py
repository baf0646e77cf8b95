"""deploy/prometheus.yml and the compose file that runs it: Prometheus accepts the config, and it
scrapes every Liveblog replica directly, which lets it read their /metrics.

No Docker engine runs here (docs/operations.md "Running at scale"), so the compose file itself is
only read.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import yaml

from tests.harness import ROOT
from tests.ops.conftest import run_promtool

PROMETHEUS_YML = ROOT / "deploy" / "prometheus.yml"
COMPOSE = ROOT / "docker-compose.yml"


def test_promtool_accepts_the_scrape_config(promtool: Path) -> None:
    result = run_promtool(promtool, "check", "config", PROMETHEUS_YML)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def mounted(compose: dict[str, Any], service: str, target: str) -> str:
    """The file of `service`'s config mounted at `target`, as the compose file names it."""
    (source,) = (
        c["source"] for c in compose["services"][service]["configs"] if c["target"] == target
    )
    file: str = compose["configs"][source]["file"]
    return file


def test_compose_scrapes_each_liveblog_replica_directly() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    # The replicas are the services built from this repository's Dockerfile, on its port.
    port = re.search(r"LIVEBLOG_PORT=(\d+)", (ROOT / "Dockerfile").read_text())
    assert port is not None
    replicas = {name: spec for name, spec in services.items() if spec.get("build") == "."}
    assert len(replicas) >= 2, replicas
    expected = {
        f"{name}:{spec['environment'].get('LIVEBLOG_PORT', port[1])}"
        for name, spec in replicas.items()
    }

    config = yaml.safe_load(PROMETHEUS_YML.read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    # Each replica, and nothing else: not the proxy, which would show one replica at random.
    assert targets == expected

    prometheus_yml = mounted(compose, "prometheus", "/etc/prometheus/prometheus.yml")
    assert (ROOT / prometheus_yml).resolve() == PROMETHEUS_YML
    dashboard = mounted(compose, "grafana", "/etc/grafana/dashboards/liveblog.json")
    assert (ROOT / dashboard).resolve() == ROOT / "deploy" / "grafana" / "liveblog.json"

    # /metrics is open to Prometheus's address, and not to the proxy's (the public's way in).
    def address(service: str) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(services[service]["networks"]["liveblog"]["ipv4_address"])

    for name, spec in replicas.items():
        allowed = [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in spec["environment"]["LIVEBLOG_METRICS_ALLOWED_NETWORKS"].split(",")
        ]
        assert any(address("prometheus") in network for network in allowed), name
        assert not any(address("proxy") in network for network in allowed), name
