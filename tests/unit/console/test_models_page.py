"""Models: versions with status, metrics, gate and lineage; approve or reject with a reason
through the registry's own functions, by admins only, and the CLI sees the same decision."""

from __future__ import annotations

import json

from _console import MODEL, csrf_of

from ray_apps import registry
from ray_apps.cli import main

VERSION_2 = f"/models/{MODEL}/versions/2"


def _cli(capsys, *argv) -> str:
    try:
        main(list(argv))
    except SystemExit as exited:
        assert exited.code in (0, None)
    return capsys.readouterr().out


def test_the_models_pages_show_status_metrics_gate_and_lineage(console_client, registry_uri):
    client = console_client("viewer")
    index = client.get("/models")
    assert index.status_code == 200 and f'data-model="{MODEL}"' in index.text
    v1, v2 = registry.list_versions(MODEL, tracking_uri=registry_uri)

    page = client.get(f"/models/{MODEL}").text
    assert 'data-version="2"' in page and 'data-version="1"' in page
    assert '<span class="status approved">Approved</span>' in page
    assert '<span class="status pending">Pending</span>' in page
    assert page.count("not evaluated") == 1 and page.count('class="ok">passed') == 1  # v2 gated
    assert f'href="/runs/{v1.lineage["run_name"]}"' in page
    assert v1.lineage["data"]["fingerprint"][:12] in page
    assert f"accuracy={v2.metrics['accuracy']:.4g}" in page
    assert "Approved by tests: baseline" in page

    detail = client.get(VERSION_2).text
    assert v2.lineage["data"]["fingerprint"] in detail and "evaluation report" in detail
    report = client.get(f"{VERSION_2}/evaluation")
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]


def test_a_viewer_sees_a_version_but_cannot_approve_it(console_client, registry_uri):
    client = console_client("viewer")
    page = client.get(VERSION_2)
    assert page.status_code == 200 and "approve-form" not in page.text
    assert "Read only" in page.text
    response = client.post(
        f"{VERSION_2}/approve", data={"reason": "ok", "csrf": csrf_of(page.text)}
    )
    assert response.status_code == 403 and "needs the admin role" in response.text
    assert registry.get_version(MODEL, 2, tracking_uri=registry_uri).status == "Pending"


def test_an_admin_approves_with_a_reason_and_the_cli_agrees(
    console_client, registry_uri, monkeypatch, capsys
):
    client = console_client("admin")
    page = client.get(VERSION_2).text
    assert 'id="approve-form"' in page and 'id="reject-form"' in page
    assert 'id="history-empty"' in page
    form = {"reason": "beats v1 on AUC", "csrf": csrf_of(page)}
    response = client.post(f"{VERSION_2}/approve", data=form)
    assert (response.status_code, response.headers["location"]) == (303, VERSION_2)

    after = client.get(VERSION_2).text
    assert '<span class="status approved" id="status">Approved</span>' in after
    assert '<td class="by">console:admin</td><td class="reason">beats v1 on AUC</td>' in after
    assert 'id="approve-form"' not in after and 'id="reject-form"' in after  # what may follow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry_uri)
    shown = json.loads(_cli(capsys, "registry", "show", f"{MODEL}:2"))
    assert shown["status"] == "Approved"
    assert shown["history"][-1] | {"at": None} == {
        "status": "Approved",
        "by": "console:admin",
        "reason": "beats v1 on AUC",
        "at": None,
    }
    listed = _cli(capsys, "registry", "list", MODEL)
    assert listed.count("Approved") == 2 and "console:admin" in listed


def test_a_rejection_needs_a_reason_and_the_approval_rules_hold(console_client, registry_uri):
    client = console_client("admin")
    token = csrf_of(client.get(VERSION_2).text)
    empty = client.post(f"{VERSION_2}/reject", data={"reason": "  ", "csrf": token})
    assert empty.status_code == 400 and "say why you reject" in empty.text
    again = client.post(f"/models/{MODEL}/versions/1/approve", data={"reason": "x", "csrf": token})
    assert again.status_code == 409 and "already Approved" in again.text  # approval.py's rule

    assert (
        client.post(f"{VERSION_2}/reject", data={"reason": "drift", "csrf": token}).status_code
        == 303
    )
    v2 = registry.get_version(MODEL, 2, tracking_uri=registry_uri)
    assert (v2.status, v2.history[-1]["by"], v2.history[-1]["reason"]) == (
        "Rejected",
        "console:admin",
        "drift",
    )


def test_unknown_models_and_versions_are_404_pages(console_client):
    client = console_client("viewer")
    missing = client.get("/models/nope")
    assert missing.status_code == 404 and "no registered model" in missing.text
    assert client.get(f"/models/{MODEL}/versions/9").status_code == 404
    assert client.get(f"/models/{MODEL}:2").status_code == 404
