"""The console's endpoints page against a real Serve endpoint: the request counts it shows
(scraped from the Ray node's Prometheus metrics port) move after traffic is sent, in a real
browser. Needs the session's local Ray and Serve (tests/integration/conftest.py).

    .venv/bin/python tests/_tmp_guard.py .venv/bin/python -m pytest -q -p no:cacheprovider \\
        tests/integration/console

Ray exports custom metrics every few seconds (``metrics_report_interval_ms``, 10 s by default),
so each count is polled for, not expected at once.
"""

from __future__ import annotations

import httpx
import pytest
from _browser import Shots, chromium
from _console import ADMIN_KEY, ENV, console_process
from _factories import xgboost_artifact
from _serve_helpers import KEY, PORT, wait_for

from ray_apps import registry
from serve import deploy

pytestmark = [pytest.mark.integration]
ENDPOINT, MODEL = "console-ep", "console-live"
PREDICT = f"/console/v1/models/{MODEL}:predict"


@pytest.fixture()
def served(endpoint, tmp_path):
    mv = registry.register(xgboost_artifact(tmp_path / "artifact"), MODEL)
    registry.approve(MODEL, mv.version, by="tests", reason="console live counts")
    deploy(
        {
            "name": ENDPOINT,
            "route_prefix": "/console",
            "models": [{"name": MODEL, "version": mv.version}],
            "auth": {"api_key_envs": ["RAYMAKER_TEST_KEYS"]},
        },
        port=PORT,
    )
    return endpoint


def _metrics_url() -> str:
    import ray

    port = ray._private.worker.global_worker.node.metrics_export_port
    return f"http://127.0.0.1:{port}/metrics"


def test_the_endpoints_page_shows_request_counts_that_move(served, tmp_path):
    from selenium.webdriver.common.by import By

    def send(n: int) -> None:
        with httpx.Client(base_url=served, timeout=30) as client:
            for _ in range(n):
                body = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
                r = client.post(PREDICT, json=body, headers={"Authorization": f"Bearer {KEY}"})
                assert r.status_code == 200, r.text

    with (
        chromium(tmp_path) as browser,
        console_process(tmp_path / "console.log", ENV, "--metrics-url", _metrics_url()) as (
            base,
            _,
        ),
    ):
        shot = Shots(browser, tmp_path / "screenshots")
        browser.get(f"{base}/login?next=%2Fendpoints")
        browser.find_element(By.ID, "key").send_keys(ADMIN_KEY)
        browser.find_element(By.ID, "login").click()
        assert browser.current_url == f"{base}/endpoints"
        section = f'section[data-endpoint="{ENDPOINT}"]'
        assert browser.find_element(By.CSS_SELECTOR, section)  # the registry says it is deployed

        def requests_shown() -> int:
            browser.refresh()
            cells = browser.find_elements(
                By.CSS_SELECTOR, f'{section} tr[data-model="{MODEL}"] td.requests'
            )
            return int(cells[0].text) if cells else 0

        send(5)
        wait_for(lambda: requests_shown() >= 5, 90, "5 requests on the endpoints page", 1.0)
        shot("endpoints-5")
        send(7)
        wait_for(lambda: requests_shown() >= 12, 90, "12 requests on the endpoints page", 1.0)
        rate = browser.find_element(By.CSS_SELECTOR, f'{section} tr[data-model="{MODEL}"] td.rate')
        assert float(rate.text) >= 0  # a number once two scrapes are apart (Ray exports in steps)
        errors = browser.find_element(By.CSS_SELECTOR, f"{section} td.error-rate").text
        assert errors == "0.0 %"
        shot("endpoints-12")
        shot.keep()
