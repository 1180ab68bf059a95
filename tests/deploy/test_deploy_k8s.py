"""Offline checks of the Kubernetes manifests in k8s/ (kustomize base and overlays).

No cluster is needed: each kustomization is rendered with ``kubectl kustomize`` (or a
standalone ``kustomize build``), every rendered built-in object is validated strictly
against the Kubernetes OpenAPI schemas bundled with ``kubernetes-validate``, and the
rendered objects are checked for the deployment rules (probes, security, disruption
budgets, autoscaling, network isolation, Jobs, storage, secrets).
"""

from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
SECRET_TEMPLATE = K8S / "base" / "secrets.template.yaml"
OVERLAYS = ["base", "overlays/dev", "overlays/production"]
ALL_KUSTOMIZATIONS = [*OVERLAYS, "overlays/keda"]
PLACEHOLDER = "REPLACE_ME"

# service -> (port, console script, database schema, CPU autoscaled)
SERVICES = {
    "gateway": (8000, "folio-gateway", None, True),
    "translation-service": (8001, "folio-translation", "translation", True),
    "community-service": (8002, "folio-community", "community", True),
    "user-service": (8003, "folio-users", "users", True),
    "worker-service": (8004, "folio-worker", None, False),
}
MIGRATIONS = {
    "migrate-translation": "translation-service",
    "migrate-community": "community-service",
    "migrate-users": "user-service",
}
SHARED_STORAGE = {"translation-service", "worker-service"}
# Who may call whom inside the namespace (besides the gateway, open to everyone).
ALLOWED_CALLERS = {
    "translation-service": {"gateway"},
    "community-service": {"gateway"},
    "user-service": {"gateway"},
    "worker-service": {"gateway"},
    "fake-llm": {"worker-service"},
}
FORBIDDEN_KUSTOMIZE_FIELDS = {
    "bases",
    "commonLabels",
    "patchesStrategicMerge",
    "patchesJson6902",
    "vars",
    "imageTags",
}

# Strict validation against the oldest Kubernetes these manifests target and the newest
# the installed kubernetes-validate bundles.
MIN_K8S = "1.31"


def k8s_versions() -> list[str]:
    bundled = {".".join(v.split(".")[:2]) for v in all_versions()}
    if MIN_K8S not in bundled:
        pytest.fail(f"kubernetes-validate bundles no schemas for {MIN_K8S} ({sorted(bundled)})")
    latest = ".".join(kubernetes_validate.latest_version().split(".")[:2])
    return sorted({MIN_K8S, latest})


# ---- rendering -------------------------------------------------------------------------------


def kustomize_command() -> list[str]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    kustomize = shutil.which("kustomize")
    if kustomize:
        return [kustomize, "build"]
    pytest.fail(
        "cannot render k8s/: neither `kubectl` (with its built-in kustomize) nor a standalone "
        "`kustomize` is on PATH; install one of them to run the deployment tests"
    )


@functools.cache
def _render(directory: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [*kustomize_command(), str(K8S / directory)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"rendering k8s/{directory} failed:\n{result.stderr}")
    docs = tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)
    assert docs, f"k8s/{directory} rendered nothing"
    return docs


def render(directory: str) -> list[dict]:
    # Deep copies: tests must not see each other's changes.
    return json.loads(json.dumps(_render(directory)))


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def is_builtin(doc: dict) -> bool:
    """Core and k8s.io API groups; anything else (keda.sh/...) is a custom resource."""
    group = doc["apiVersion"].rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def pod_specs(docs: list[dict]) -> Iterator[tuple[str, dict, dict]]:
    """(kind/name, pod template metadata, pod spec) of every workload."""
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            template = doc["spec"]["template"]
            yield f"{doc['kind']}/{doc['metadata']['name']}", template["metadata"], template["spec"]


def config_data(docs: list[dict]) -> dict[str, str]:
    (config,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("folio-config")
    ]
    return config["data"]


def selects(selector: dict, labels: dict) -> bool:
    match = selector.get("matchLabels") or {}
    assert not selector.get("matchExpressions"), "keep selectors to matchLabels"
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


# ---- schema validation ------------------------------------------------------------------------


def validate_strictly(docs: list[dict], where: str) -> None:
    errors = []
    for doc in docs:
        for version in k8s_versions():
            name = f"{doc['kind']}/{doc['metadata']['name']}"
            try:
                used = kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                errors.append(f"{where} {name} (k8s {version}): {path}: {exc.message}")
                continue
            except kubernetes_validate.SchemaNotFoundError as exc:
                errors.append(f"{where} {name}: {exc.message}")
                continue
            assert used == version, f"validated against {used}, not {version}"
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("directory", OVERLAYS)
def test_renders_and_validates_strictly(directory: str) -> None:
    docs = render(directory)
    assert all(is_builtin(d) for d in docs), "CRDs belong in k8s/overlays/keda"
    validate_strictly(docs, directory)


def test_keda_overlay() -> None:
    docs = render("overlays/keda")
    builtin = [d for d in docs if is_builtin(d)]
    custom = [d for d in docs if not is_builtin(d)]
    validate_strictly(builtin, "overlays/keda")
    assert {d["kind"] for d in custom} == {"ScaledObject", "TriggerAuthentication"}
    (scaled,) = of_kind(custom, "ScaledObject").values()
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["metadata"]["namespace"] == "folio"
    target = scaled["spec"]["scaleTargetRef"]
    assert target["name"] == "worker-service" and target.get("kind", "Deployment") == "Deployment"
    assert target["name"] in of_kind(builtin, "Deployment")
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == "worker-service.segment"
    assert trigger["metadata"].get("mode", "QueueLength") == "QueueLength"
    assert int(trigger["metadata"]["value"]) > 0
    assert "host" not in trigger["metadata"], "the broker URL holds credentials"
    auths = of_kind(custom, "TriggerAuthentication")
    auth = auths[trigger["authenticationRef"]["name"]]
    (ref,) = auth["spec"]["secretTargetRef"]
    assert ref["parameter"] == "host"
    assert ref["key"] in template_secrets()[ref["name"]]
    # KEDA owns the worker's HPA: no second autoscaler may target it.
    hpas = of_kind(builtin, "HorizontalPodAutoscaler").values()
    assert not [h for h in hpas if h["spec"]["scaleTargetRef"]["name"] == "worker-service"]


# ---- workloads -----------------------------------------------------------------------------------


def check_pod_security(name: str, spec: dict) -> None:
    pod = spec.get("securityContext") or {}
    assert pod.get("runAsNonRoot") is True, name
    assert pod.get("runAsUser") == 10001 and pod.get("fsGroup") == 10001, name
    assert (pod.get("seccompProfile") or {}).get("type") == "RuntimeDefault", name
    tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for container in spec["containers"]:
        ctx = container.get("securityContext") or {}
        assert ctx.get("allowPrivilegeEscalation") is False, name
        assert ctx.get("readOnlyRootFilesystem") is True, name
        assert ctx.get("privileged") is not True, name
        assert (ctx.get("capabilities") or {}).get("drop") == ["ALL"], name
        assert not (ctx.get("capabilities") or {}).get("add"), name
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert mounts.get("/tmp") in tmp_volumes, f"{name}: /tmp must be an emptyDir"
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(kind) or {}), f"{name} {kind}"


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_workloads_are_hardened(directory: str) -> None:
    docs = render(directory)
    workloads = list(pod_specs(docs))
    assert workloads
    for name, _, spec in workloads:
        check_pod_security(f"{directory} {name}", spec)
        assert spec.get("automountServiceAccountToken") is False, name


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_deployments(directory: str) -> None:
    docs = render(directory)
    deployments = of_kind(docs, "Deployment")
    assert set(SERVICES) <= set(deployments)
    graceful = float(config_data(docs)["FOLIO_GRACEFUL_TIMEOUT_S"])
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert labels["app.kubernetes.io/part-of"] == "folio"
        assert deployment["metadata"]["labels"]["app.kubernetes.io/part-of"] == "folio"
        assert selects(deployment["spec"]["selector"], labels), name
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        own = {e["name"]: e.get("value") for e in container.get("env", [])}
        timeout = float(own.get("FOLIO_GRACEFUL_TIMEOUT_S") or graceful)
        # The worker's covers a model call in flight (300 s), the others a request.
        assert timeout >= (320 if name == "worker-service" else 1), name
        # The graceful timeout plus the preStop pause fit before Kubernetes kills the pod.
        assert timeout + 5 < spec["terminationGracePeriodSeconds"], name
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe_name in ("livenessProbe", "readinessProbe"):
            probe = container.get(probe_name)
            assert probe and "httpGet" in probe, f"{name} has no {probe_name}"
            assert probe["httpGet"]["port"] in (*ports, *ports.values()), name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        if name in SERVICES:
            # The gateway's /readyz aggregates every backend; its pods stay in rotation on
            # their own health so that one unready backend does not take down all routes.
            ready_path = "/healthz" if name == "gateway" else "/readyz"
            assert container["readinessProbe"]["httpGet"]["path"] == ready_path, name
            assert container["startupProbe"]["httpGet"]["path"] == "/healthz", name
            assert ports == {"http": SERVICES[name][0]}, name
            assert container["image"].split(":")[0] == f"folio/{name}"
            env = {e["name"]: e for e in container.get("env", [])}
            assert env["OTEL_SERVICE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == (
                "metadata.labels['app.kubernetes.io/name']"
            )
            assert env["FOLIO_HTTP_PORT"]["value"] == str(SERVICES[name][0])
            schema = SERVICES[name][2]
            assert (env.get("FOLIO_DATABASE_SCHEMA") or {}).get("value") == schema, name
            sources = container["envFrom"]
            assert any(
                s.get("configMapRef", {}).get("name", "").startswith("folio-config")
                for s in sources
            ), name
            assert any("secretRef" in s for s in sources), name


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_every_deployment_has_a_service_and_a_pdb(directory: str) -> None:
    docs = render(directory)
    services = of_kind(docs, "Service")
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for name, deployment in of_kind(docs, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        matching = [
            s for s in services.values() if selects({"matchLabels": s["spec"]["selector"]}, labels)
        ]
        assert matching, f"{directory}: Deployment {name} has no Service"
        for service in matching:
            assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in (*ports, *ports.values()), name
        budgets = [p for p in pdbs.values() if selects(p["spec"]["selector"], labels)]
        assert len(budgets) == 1, f"{directory}: Deployment {name} needs one PDB"
        spec = budgets[0]["spec"]
        assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable") == 1, name


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_cpu_autoscaling_for_http_services(directory: str) -> None:
    docs = render(directory)
    deployments = of_kind(docs, "Deployment")
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    targets = {}
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment" and ref["name"] in deployments
        (metric,) = hpa["spec"]["metrics"]
        assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        targets[ref["name"]] = hpa
    assert set(targets) == {name for name, spec in SERVICES.items() if spec[3]}


# ---- network ----------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_only_the_gateway_is_reachable_from_outside(directory: str) -> None:
    docs = render(directory)
    for service in of_kind(docs, "Service").values():
        spec = service["spec"]
        name = service["metadata"]["name"]
        if name != "gateway":
            assert spec.get("type", "ClusterIP") == "ClusterIP", name
            assert not spec.get("externalIPs") and not spec.get("loadBalancerIP"), name
    assert not of_kind(docs, "Ingress") or set(of_kind(docs, "Ingress")) == {"gateway"}

    policies = of_kind(docs, "NetworkPolicy")
    default_deny = [
        p
        for p in policies.values()
        if p["spec"]["podSelector"] == {}
        and "Ingress" in p["spec"].get("policyTypes", [])
        and not p["spec"].get("ingress")
    ]
    assert default_deny, f"{directory}: no default-deny ingress policy"

    deployments = of_kind(docs, "Deployment")
    admitted: dict[str, set[str]] = {name: set() for name in deployments}
    for policy in policies.values():
        spec = policy["spec"]
        name = policy["metadata"]["name"]
        for rule in spec.get("ingress") or []:
            targets = [
                d
                for d, dep in deployments.items()
                if selects(spec["podSelector"], dep["spec"]["template"]["metadata"]["labels"])
            ]
            assert targets, f"{name} selects no Deployment"
            if targets == ["gateway"]:
                ports = {p["port"] for p in rule.get("ports", [])}
                assert ports == {8000}, f"{name}: the gateway is open on 8000 only"
                admitted["gateway"].add("*")
                continue
            peers = rule.get("from")
            assert peers, f"{name}: an ingress rule without `from` admits every source"
            for peer in peers:
                assert set(peer) == {"podSelector"}, f"{name}: only pod selectors in-namespace"
                callers = {
                    d
                    for d, dep in deployments.items()
                    if selects(peer["podSelector"], dep["spec"]["template"]["metadata"]["labels"])
                }
                assert callers, f"{name}: a peer that selects no Deployment"
                for target in targets:
                    assert callers <= ALLOWED_CALLERS[target], (name, target, callers)
                    admitted[target] |= callers
    assert admitted["gateway"] == {"*"}
    for name in SERVICES:
        if name != "gateway":
            assert admitted[name] == {"gateway"}, (name, admitted[name])


# ---- Jobs, storage, config ---------------------------------------------------------------------


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_database_jobs(directory: str) -> None:
    docs = render(directory)
    jobs = of_kind(docs, "Job")
    assert {"db-bootstrap", *MIGRATIONS} <= set(jobs)
    for name, job in jobs.items():
        assert job["spec"].get("ttlSecondsAfterFinished") is not None, name
        assert job["spec"].get("backoffLimit") is not None, name
        assert job["spec"]["template"]["spec"]["restartPolicy"] in ("Never", "OnFailure")
    (bootstrap,) = jobs["db-bootstrap"]["spec"]["template"]["spec"]["containers"]
    assert bootstrap["command"] == ["folio-bootstrap-db"]
    assert bootstrap["image"].split(":")[0] == "folio/translation-service"
    for name, service in MIGRATIONS.items():
        (container,) = jobs[name]["spec"]["template"]["spec"]["containers"]
        _, script, schema, _ = SERVICES[service]
        assert container["command"] == [script, "migrate"], name
        assert container["image"].split(":")[0] == f"folio/{service}"
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env["FOLIO_DATABASE_SCHEMA"] == schema
        service_secrets = {
            s["secretRef"]["name"]
            for s in of_kind(docs, "Deployment")[service]["spec"]["template"]["spec"]["containers"][
                0
            ]["envFrom"]
            if "secretRef" in s
        }
        job_secrets = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
        assert job_secrets & service_secrets, f"{name} must use {service}'s database secret"
        # Bootstrap first, then migrations (Argo CD sync waves; plain kubectl: kubectl wait).
        waves = {
            j: int(
                jobs[j]["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0)
            )
            for j in ("db-bootstrap", name)
        }
        assert waves["db-bootstrap"] < waves[name]


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_shared_storage(directory: str) -> None:
    docs = render(directory)
    claim = of_kind(docs, "PersistentVolumeClaim")["folio-storage"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert config_data(docs)["FOLIO_STORAGE_DIR"] == "/data/storage"
    for name, deployment in of_kind(docs, "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        claims = {
            v["name"]
            for v in spec.get("volumes", [])
            if v.get("persistentVolumeClaim", {}).get("claimName") == "folio-storage"
        }
        mounts = [
            m["mountPath"]
            for m in spec["containers"][0].get("volumeMounts", [])
            if m["name"] in claims
        ]
        assert mounts == (["/data/storage"] if name in SHARED_STORAGE else []), name


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_namespace_and_labels(directory: str) -> None:
    docs = render(directory)
    assert of_kind(docs, "Namespace")["folio"]
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "folio", doc["metadata"]["name"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "folio"


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_config_has_no_secrets(directory: str) -> None:
    data = config_data(render(directory))
    for key, value in data.items():
        assert "PRIVATE KEY" not in value and "BEGIN " not in value, key
        assert "@" not in value, f"{key}: credentials in a URL belong in a Secret"
        assert not any(word in key for word in ("PASSWORD", "API_KEY", "PRIVATE", "DATABASE_URL"))
    assert "FOLIO_RABBITMQ_URL" not in data


# ---- secrets -------------------------------------------------------------------------------------


@functools.cache
def _template_secrets() -> dict[str, frozenset[str]]:
    docs = [d for d in yaml.safe_load_all(SECRET_TEMPLATE.read_text()) if d]
    validate_strictly(docs, SECRET_TEMPLATE.name)
    secrets = {}
    for doc in docs:
        assert doc["kind"] == "Secret"
        assert doc["metadata"]["namespace"] == "folio"
        assert_placeholders_only(doc)
        secrets[doc["metadata"]["name"]] = frozenset(
            {*(doc.get("stringData") or {}), *(doc.get("data") or {})}
        )
    return secrets


def template_secrets() -> dict[str, frozenset[str]]:
    return _template_secrets()


def assert_placeholders_only(secret: dict) -> None:
    name = secret["metadata"]["name"]
    for key, value in (secret.get("stringData") or {}).items():
        assert value == PLACEHOLDER, f"Secret {name}.{key} holds a value, not {PLACEHOLDER}"
    for key, value in (secret.get("data") or {}).items():
        assert base64.b64decode(value).decode() == PLACEHOLDER, f"Secret {name}.{key}"


def test_secret_template_holds_placeholders_only() -> None:
    secrets = template_secrets()
    assert (
        "REPLACE_ME" in SECRET_TEMPLATE.read_text() and "out of band" in SECRET_TEMPLATE.read_text()
    )
    assert secrets["gateway-secrets"] == {
        "FOLIO_INTERNAL_TOKEN_PRIVATE_KEY",
        "FOLIO_REDIS_URL",
        "FOLIO_ADMIN_SECRET",
    }
    # One name for the admin secret, in both Secrets that carry it.
    assert "FOLIO_ADMIN_SECRET" in secrets["user-service-secrets"]
    assert not [n for n, s in secrets.items() if "FOLIO_ADMIN_SECRET_KEY" in s]
    assert "FOLIO_INTERNAL_TOKEN_PRIVATE_KEY" not in {
        k for n, s in secrets.items() if n != "gateway-secrets" for k in s
    }
    assert secrets["db-bootstrap-secrets"] >= {
        "FOLIO_BOOTSTRAP_DATABASE_URL",
        "FOLIO_DB_PASSWORD_TRANSLATION",
        "FOLIO_DB_PASSWORD_COMMUNITY",
        "FOLIO_DB_PASSWORD_USERS",
    }


@pytest.mark.parametrize("directory", ALL_KUSTOMIZATIONS)
def test_secrets_are_placeholders_and_referenced_ones_are_templated(directory: str) -> None:
    docs = render(directory)
    for secret in of_kind(docs, "Secret").values():
        assert_placeholders_only(secret)
    known = template_secrets()
    for name, _, spec in pod_specs(docs):
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in known, (name, source)
            for env in container.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in known.get(ref["name"], ()), (name, ref)
                assert "BEGIN " not in (env.get("value") or ""), (name, env["name"])


def test_kustomizations_use_modern_fields() -> None:
    files = sorted(K8S.rglob("kustomization.yaml"))
    assert {str(f.parent.relative_to(K8S)) for f in files} >= set(ALL_KUSTOMIZATIONS)
    for path in files:
        fields = set(yaml.safe_load(path.read_text()))
        assert not fields & FORBIDDEN_KUSTOMIZE_FIELDS, (
            f"{path}: deprecated {fields & FORBIDDEN_KUSTOMIZE_FIELDS}"
        )
        resources = yaml.safe_load(path.read_text()).get("resources", [])
        assert not [r for r in resources if "secret" in r.lower()], (
            "secrets are created out of band"
        )


# ---- overlays ---------------------------------------------------------------------------------


def images(docs: list[dict]) -> list[str]:
    return [c["image"] for _, _, spec in pod_specs(docs) for c in spec["containers"]]


def test_dev_overlay() -> None:
    docs = render("overlays/dev")
    deployments = of_kind(docs, "Deployment")
    assert "fake-llm" in deployments and "fake-llm" in of_kind(docs, "Service")
    assert all(d["spec"]["replicas"] == 1 for d in deployments.values())
    assert all(image.endswith(":dev") for image in images(docs)), images(docs)
    data = config_data(docs)
    assert data["FOLIO_ENVIRONMENT"] == "development"
    assert data["FOLIO_LLM_BASE_URL"] == "http://fake-llm:8090/v1"
    (container,) = deployments["fake-llm"]["spec"]["template"]["spec"]["containers"]
    assert container["ports"][0]["containerPort"] == 8090


def test_production_overlay() -> None:
    docs = render("overlays/production")
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    assert all(d["spec"]["replicas"] >= 2 for d in deployments.values())
    assert all(
        h["spec"]["minReplicas"] >= 2 for h in of_kind(docs, "HorizontalPodAutoscaler").values()
    )
    for image in images(docs):
        name, _, tag = image.rpartition(":")
        assert name.startswith("folio/") and tag and tag not in ("dev", "latest"), image
    data = config_data(docs)
    assert data["FOLIO_ENVIRONMENT"] == "production"
    assert data.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    assert "127.0.0.1" not in data["FOLIO_AUTH_JWKS_URL"]
    text = yaml.safe_dump_all(docs)
    assert "FOLIO_DEV_ISSUER_PUBLIC_KEY" not in text and "fake-llm" not in text


def test_base_overlay() -> None:
    # The shared skeleton: the five services only, one replica, versioned images.
    docs = render("base")
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    assert all(d["spec"]["replicas"] == 1 for d in deployments.values())
    for image in images(docs):
        name, _, tag = image.rpartition(":")
        assert name.startswith("folio/") and tag and tag != "latest", image
