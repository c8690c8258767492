"""The Kubernetes manifests: valid against the API schemas (offline) and safe as written."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import ROOT, project_version

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
# The oldest Kubernetes release still in common support, and the newest schemas shipped.
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def documents() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in MANIFESTS:
        out += [(path, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def one(kind: str) -> dict[str, Any]:
    (doc,) = [d for _, d in documents() if d["kind"] == kind]
    return doc


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = one("Deployment")["spec"]["template"]["spec"]
    return spec


def node_container() -> dict[str, Any]:
    (container,) = [c for c in pod_spec()["containers"] if c["name"] == "node"]
    return container


class TestSchemas:
    @pytest.mark.parametrize("version", VERSIONS)
    def test_every_manifest_validates_strictly(self, version: str) -> None:
        """Every document is a valid object of its kind, with no unknown field."""
        docs = documents()
        assert {d["kind"] for _, d in docs} >= {
            "Namespace", "ServiceAccount", "PersistentVolumeClaim", "Deployment", "Service",
            "NetworkPolicy",
        }  # fmt: skip
        for path, doc in docs:
            assert kubernetes_validate.validate(doc, version, strict=True), path.name

    def test_a_misspelt_field_is_caught(self) -> None:
        """The check is not blind: a misspelt container field fails validation."""
        broken = copy.deepcopy(one("Deployment"))
        broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


class TestNodeDeployment:
    def test_one_pod_per_home(self) -> None:
        """One replica, replaced by stopping the old pod first, so two never share a home."""
        spec = one("Deployment")["spec"]
        assert spec["replicas"] == 1
        assert spec["strategy"]["type"] == "Recreate"
        assert one("PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]

    def test_home_on_the_claim_keys_from_a_secret_policy_from_a_config_map(self) -> None:
        """The home is the PVC; keys and policy are mounted read-only over it."""
        volumes = {v["name"]: v for v in pod_spec()["volumes"]}
        mounts = {m["mountPath"]: m for m in node_container()["volumeMounts"]}
        home = volumes[mounts["/var/lib/spoor"]["name"]]
        assert (
            home["persistentVolumeClaim"]["claimName"]
            == one("PersistentVolumeClaim")["metadata"]["name"]
        )
        keys = mounts["/var/lib/spoor/keys"]
        assert keys["readOnly"] is True
        assert volumes[keys["name"]]["secret"]["defaultMode"] & 0o007 == 0  # not world-readable
        policy = mounts["/var/lib/spoor/policy"]
        assert policy["readOnly"] is True
        assert "configMap" in volumes[policy["name"]]

    def test_non_root_read_only_without_privileges(self) -> None:
        """Every container runs as uid 10001 with a read-only root and no capabilities."""
        pod = pod_spec()
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        for container in pod["initContainers"] + pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["capabilities"]["drop"] == ["ALL"]

    def test_resources_requested_and_limited(self) -> None:
        """Every container requests and limits CPU and memory."""
        pod = pod_spec()
        for container in pod["initContainers"] + pod["containers"]:
            for key in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][key])

    def test_probes_on_the_ops_port(self) -> None:
        """Liveness asks /healthz and readiness /readyz on the ops port, 9464."""
        container = node_container()
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"grpc": 50051, "ops": 9464}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}

    def test_image_is_this_release(self) -> None:
        """The image tag is the project version, the one deploy/container/build makes."""
        pod = pod_spec()
        for container in pod["initContainers"] + pod["containers"]:
            assert container["image"].endswith(f"/spoor:{project_version()}")


class TestNetworkPolicy:
    def test_applies_to_the_node_in_both_directions(self) -> None:
        """The policy selects the node's pods and restricts ingress and egress."""
        policy = one("NetworkPolicy")
        labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
        assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
        assert one("Service")["spec"]["selector"].items() <= labels.items()

    def test_only_the_grpc_and_ops_ports_from_named_sources(self) -> None:
        """Ingress is gRPC and ops only, each from listed sources, never from anywhere."""
        rules = one("NetworkPolicy")["spec"]["ingress"]
        ports = sorted(p["port"] for rule in rules for p in rule["ports"])
        assert ports == [9464, 50051]
        for rule in rules:
            assert rule["from"]
            for source in rule["from"]:
                assert source.get("ipBlock", {}).get("cidr") != "0.0.0.0/0"
