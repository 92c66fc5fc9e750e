"""The console in a real browser: headless Chromium from the OS packages (``make setup``
installs ``chromium`` and ``chromium-driver`` where missing), driven by Selenium, against the
real ``raymaker console`` command on a free loopback port and a real registry with two versions.

Log in, approve the Pending version with a reason, see its status and history change and the
CLI agree; a form stripped of its CSRF token is refused; a monitor window's report loads in its
sandboxed frame; without a session every page goes to the login form. A screenshot of each
page lands in the test's ``tmp_path`` (and, when RAYMAKER_CONSOLE_SCREENSHOTS names a folder, is
copied there: CI keeps them as artifacts).
No Ray.
"""

from __future__ import annotations

import json

import pytest
from _browser import Shots, chromium, navigate
from _console import ADMIN_KEY, MODEL, console_process, world_env
from _sockets import LOOPBACK, listening

from ray_apps.cli import main


@pytest.fixture()
def browser(tmp_path):
    with chromium(tmp_path) as driver:
        yield driver


def test_log_in_approve_and_see_it_everywhere(
    world, registry_uri, browser, tmp_path, capsys, monkeypatch
):
    from selenium.webdriver.common.by import By

    shot = Shots(browser, tmp_path / "screenshots")
    find = browser.find_element
    env = world_env(world, registry_uri)
    with console_process(tmp_path / "console.log", env) as (base, port):
        assert listening(port) == {LOOPBACK}  # the default: loopback only

        browser.get(f"{base}/models")  # no session: the login form, and back after it
        assert browser.current_url == f"{base}/login?next=%2Fmodels"
        shot("login")
        find(By.ID, "key").send_keys("not-a-key")
        navigate(browser, find(By.ID, "login"))
        assert find(By.ID, "login-error").text == "that key is not accepted"
        find(By.ID, "key").send_keys(ADMIN_KEY)
        navigate(browser, find(By.ID, "login"))
        assert browser.current_url == f"{base}/models" and find(By.ID, "role").text == "admin"
        shot("models")

        navigate(browser, find(By.LINK_TEXT, MODEL))
        statuses = {
            row.get_attribute("data-version"): row.find_element(By.CSS_SELECTOR, ".status").text
            for row in browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr")
        }
        assert statuses == {"1": "Approved", "2": "Pending"}
        shot("model")

        navigate(browser, find(By.CSS_SELECTOR, '#versions tr[data-version="2"] a'))
        assert find(By.ID, "status").text == "Pending" and find(By.ID, "history-empty")
        shot("version-pending")
        find(By.ID, "approve-reason").send_keys("beats v1 on AUC")
        navigate(browser, find(By.ID, "approve-button"))
        assert browser.current_url == f"{base}/models/{MODEL}/versions/2"
        assert find(By.ID, "status").text == "Approved"
        newest = find(By.CSS_SELECTOR, "#history tbody tr")
        assert newest.find_element(By.CSS_SELECTOR, ".by").text == "console:admin"
        assert newest.find_element(By.CSS_SELECTOR, ".reason").text == "beats v1 on AUC"
        shot("version-approved")

        # A form without its CSRF token changes nothing.
        browser.execute_script("document.querySelector('#reject-form [name=csrf]').remove()")
        find(By.ID, "reject-reason").send_keys("forged")
        navigate(browser, find(By.ID, "reject-button"))
        assert "CSRF token" in find(By.ID, "error").text
        shot("csrf-refused")
        browser.get(f"{base}/models/{MODEL}/versions/2")
        assert find(By.ID, "status").text == "Approved"

        for page in ("runs", f"runs/{world.run_name}", "endpoints", "monitors", "pipelines"):
            browser.get(f"{base}/{page}")
            assert browser.title.endswith("raymaker console")
            assert not browser.find_elements(By.ID, "error"), page
            shot(page.replace("/", "-"))
        browser.get(f"{base}/runs/{world.run_name}/health_report")
        shot("health-report")

        # A monitor window's page frames its report, sandboxed: the browser lets it load.
        browser.get(f"{base}/monitors")
        navigate(browser, find(By.CSS_SELECTOR, "a.window"))
        browser.switch_to.frame(find(By.ID, "report"))
        body = browser.find_element(By.TAG_NAME, "body").text
        browser.switch_to.default_content()
        assert body == "evidently report", body
        shot("monitor-window")

        browser.get(f"{base}/models")
        navigate(browser, find(By.ID, "logout"))
        assert browser.current_url == f"{base}/login"
        browser.get(f"{base}/runs")
        assert browser.current_url == f"{base}/login?next=%2Fruns"

    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry_uri)  # the CLI reads the same registry
    main(["registry", "show", f"{MODEL}:2"])
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"], shown["history"][-1]["by"]) == ("Approved", "console:admin")
    assert shown["history"][-1]["reason"] == "beats v1 on AUC"
    assert len(shot.taken) == 13 and all(p.stat().st_size > 5_000 for p in shot.taken)
    shot.keep()
