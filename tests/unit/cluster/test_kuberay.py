"""The KubeRay manifests validate against KubeRay's CRDs (cluster/schemas) and lock the cluster
down: token auth on, the dashboard inside the cluster, credentials only from Secrets."""

import copy
import re

import pytest
import yaml
from _kube_schema import errors, load_yaml

FILES = {
    "RayCluster": "cluster/kuberay-raycluster.yaml",
    "RayJob": "cluster/kuberay-rayjob.yaml",
    "RayService": "cluster/kuberay-rayservice.yaml",
}
CLUSTER_SPEC = {
    "RayCluster": (),
    "RayJob": ("rayClusterSpec",),
    "RayService": ("rayClusterConfig",),
}
# Env var names that hold credentials: only ever from a Secret, never a value in a manifest.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|CREDENTIAL", re.I)


def cluster_spec(kind):
    spec = load_yaml(FILES[kind])["spec"]
    for key in CLUSTER_SPEC[kind]:
        spec = spec[key]
    return spec


def groups(spec):
    return [spec["headGroupSpec"], *spec["workerGroupSpecs"]]


def containers(spec):
    return [c for g in groups(spec) for c in g["template"]["spec"]["containers"]]


@pytest.mark.parametrize("kind", FILES)
def test_manifest_validates_against_the_kuberay_crd(kind):
    manifest = load_yaml(FILES[kind])
    assert manifest["kind"] == kind
    assert errors(manifest) == []


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            lambda s: s["headGroupSpec"].update(rayStartParam={}),
            "spec.headGroupSpec: Additional properties are not allowed ('rayStartParam'",
        ),
        (
            lambda s: s["workerGroupSpecs"][0].update(maxReplicas="8"),
            "spec.workerGroupSpecs.0.maxReplicas: '8' is not of type 'integer'",
        ),
        (
            lambda s: s["authOptions"].update(mode="tokens"),
            "spec.authOptions.mode: 'tokens' is not one of ['disabled', 'token']",
        ),
        (  # deep inside the Pod template, which Kubernetes' own schema closes too
            lambda s: s["workerGroupSpecs"][1]["template"]["spec"]["containers"][0].update(
                resource={"limits": {"nvidia.com/gpu": 1}}
            ),
            "containers.0: Additional properties are not allowed ('resource' was unexpected)",
        ),
        (
            lambda s: s["workerGroupSpecs"][0].pop("groupName"),
            "spec.workerGroupSpecs.0: 'groupName' is a required property",
        ),
    ],
    ids=["misspelled-field", "wrong-type", "bad-enum", "misspelled-in-pod", "missing-required"],
)
def test_a_broken_manifest_fails_validation(break_it, expected):
    manifest = copy.deepcopy(load_yaml(FILES["RayCluster"]))
    break_it(manifest["spec"])
    found = errors(manifest)
    assert any(expected in e for e in found), found


def test_an_unserved_version_and_a_nameless_resource_are_refused():
    manifest = copy.deepcopy(load_yaml(FILES["RayJob"]))
    assert errors({**manifest, "apiVersion": "ray.io/v2"})[0].startswith("apiVersion: ")
    del manifest["metadata"]["name"]
    assert errors(manifest) != []


@pytest.mark.parametrize("kind", ["RayJob", "RayService"])
def test_jobs_and_endpoints_run_on_the_one_cluster_shape(kind):
    assert cluster_spec(kind) == cluster_spec("RayCluster")


def test_token_auth_is_on_and_the_dashboard_is_not_exposed():
    spec = cluster_spec("RayCluster")
    assert spec["authOptions"] == {"mode": "token", "secretName": "raymaker-ray-token"}
    head = spec["headGroupSpec"]
    # ClusterIP: reachable by the operator and the RayJob submitter, never from outside.
    assert head["serviceType"] == "ClusterIP" and not head.get("enableIngress", False)
    assert "dashboard-host" not in head["rayStartParams"]  # KubeRay's default: the pod's IP


def test_storage_and_tracking_come_from_the_secret_and_no_credential_is_inline():
    for kind in FILES:
        for c in containers(cluster_spec(kind)):
            assert {"secretRef": {"name": "raymaker-cluster"}} in c["envFrom"], kind
            inline = [e["name"] for e in c.get("env", []) if SECRET_NAME.search(e["name"])]
            assert inline == [], (kind, inline)
    job = load_yaml(FILES["RayJob"])["spec"]
    runtime_env = yaml.safe_load(job["runtimeEnvYAML"])  # job metadata shows it: no secrets
    assert not [k for k in runtime_env["env_vars"] if SECRET_NAME.search(k)]


def test_gpu_workers_request_gpus_and_autoscale():
    workers = {g["groupName"]: g for g in cluster_spec("RayCluster")["workerGroupSpecs"]}
    gpu = workers["gpu"]["template"]["spec"]["containers"][0]["resources"]
    assert gpu["limits"]["nvidia.com/gpu"] == gpu["requests"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in workers["cpu"]["template"]["spec"]["containers"][0]["resources"]
    for g in workers.values():
        assert g["minReplicas"] <= g["replicas"] <= g["maxReplicas"] and g["maxReplicas"] > 0
    assert cluster_spec("RayCluster")["enableInTreeAutoscaling"] is True


def test_the_job_trains_from_a_spec_file_in_the_repo():
    from ray_apps.spec import load_train_spec

    entrypoint = load_yaml(FILES["RayJob"])["spec"]["entrypoint"]
    match = re.fullmatch(r"python -m ray_apps\.train --config (\S+)", entrypoint)
    assert match, entrypoint
    assert load_train_spec(match.group(1)).name


def test_every_pod_mounts_the_shared_volume_the_claim_declares():
    claim = load_yaml("cluster/kuberay-shared-volume.yaml")
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == [
        "ReadWriteMany"
    ]  # every node writes capture files there
    for g in groups(cluster_spec("RayCluster")):
        pod = g["template"]["spec"]
        (volume,) = pod["volumes"]
        assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        mount = pod["containers"][0]["volumeMounts"][0]
        assert mount["name"] == volume["name"] and mount["mountPath"] == env["RAYMAKER_HOME"]


def test_outside_the_namespace_only_the_operator_reaches_the_dashboard():
    policy = load_yaml("cluster/kuberay-networkpolicy.yaml")["spec"]
    # every Ray pod: workers run HAProxy too (its stats page listens on all interfaces)
    assert policy["podSelector"] == {
        "matchExpressions": [
            {"key": "ray.io/node-type", "operator": "In", "values": ["head", "worker"]}
        ]
    }
    assert policy["policyTypes"] == ["Ingress"]
    open_to_all = [r for r in policy["ingress"] if "from" not in r]
    assert [p["port"] for r in open_to_all for p in r["ports"]] == [8000]  # Serve, API keys
    from_outside = [
        r for r in policy["ingress"] if any("namespaceSelector" in f for f in r.get("from", []))
    ]
    (operator,) = from_outside
    assert [p["port"] for p in operator["ports"]] == [8265]
    assert operator["from"][0]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "kuberay-operator"
    }
