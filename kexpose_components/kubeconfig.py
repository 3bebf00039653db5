"""kubeconfig entries for exposures, with the options of ``dcos kubernetes kubeconfig``:
``--context-name`` (or the name derived from the URL), ``--path-to-custom-ca`` (CA data),
``--insecure-skip-tls-verify``, ``--no-activate-context`` (the default here: merging never
switches the current context unless asked). ``tls-server-name`` is set when the server is reached
at an address while its certificate names a domain."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class KubeEntry:
    context: str
    server: str
    ca_pem: str | None  # the CA clients verify against; None: see ``insecure``
    tls_server_name: str | None = None
    insecure: bool = True  # with no CA: insecure-skip-tls-verify, else the client's own trust store


def entries_to_config(entries: list[KubeEntry], current: str | None = None) -> dict[str, Any]:
    clusters, contexts, users = [], [], []
    for e in entries:
        cluster: dict[str, Any] = {"server": e.server}
        if e.ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(e.ca_pem.encode()).decode()
        elif e.insecure:
            cluster["insecure-skip-tls-verify"] = True
        if e.tls_server_name:
            cluster["tls-server-name"] = e.tls_server_name
        clusters.append({"name": e.context, "cluster": cluster})
        users.append({"name": e.context, "user": {}})  # credentials come from the user (--token, exec plugin)
        contexts.append({"name": e.context, "context": {"cluster": e.context, "user": e.context}})
    config: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": clusters,
                              "users": users, "contexts": contexts}
    config["current-context"] = current or (entries[0].context if entries else "")
    return config


def merge(existing: dict[str, Any], new: dict[str, Any], activate: str | None) -> dict[str, Any]:
    """Replace same-named clusters, users and contexts; keep everything else (and the current
    context, unless ``activate`` names the one to switch to)."""
    merged = dict(existing) if existing else {"apiVersion": "v1", "kind": "Config", "preferences": {}}
    for section in ("clusters", "users", "contexts"):
        names = {item["name"] for item in new.get(section, [])}
        kept = [item for item in merged.get(section) or [] if item.get("name") not in names]
        merged[section] = kept + list(new.get(section, []))
    if activate:
        merged["current-context"] = activate
    else:  # never switched unless asked, not even in a file kexpose creates
        merged.setdefault("current-context", "")
    return merged


def remove(existing: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """``existing`` without the clusters, users and contexts named ``names`` (what kexpose merged);
    a current context among them is cleared."""
    kept = dict(existing)
    for section in ("clusters", "users", "contexts"):
        kept[section] = [item for item in existing.get(section) or [] if item.get("name") not in names]
    if kept.get("current-context") in names:
        kept["current-context"] = ""
    return kept


def _read(target: Path) -> dict[str, Any]:
    return (yaml.safe_load(target.read_text()) or {}) if target.exists() else {}


def _write(target: Path, config: dict[str, Any]) -> None:
    """Atomically, 0600: a kubectl reading the file never sees half of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".kexpose-tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    tmp.chmod(0o600)
    os.replace(tmp, target)


def write_merged(path: str, new: dict[str, Any], activate: str | None, drop: set[str] = frozenset()) -> None:
    """Merge into the kubeconfig at ``path`` (created 0600 if missing), first removing the
    entries named ``drop`` (ones kexpose wrote before and no longer has)."""
    target = Path(path).expanduser()
    _write(target, merge(remove(_read(target), set(drop)), new, activate))


def remove_entries(path: str, names: set[str]) -> None:
    """Take kexpose's entries out of the kubeconfig at ``path`` again; other entries stay."""
    target = Path(path).expanduser()
    if target.exists():
        _write(target, remove(_read(target), names))


def entry_names(config: dict[str, Any]) -> set[str]:
    return {item["name"] for section in ("clusters", "users", "contexts") for item in config.get(section) or []}


def present_entries(path: str) -> set[str]:
    """Names of the entries the kubeconfig at ``path`` holds now."""
    return entry_names(_read(Path(path).expanduser()))
