"""`kplane login` and contexts: the config file is written 0600, contexts switch, the
environment overrides them, and a bad token is refused before anything is written."""

from __future__ import annotations

import stat

import yaml

from tests.integration.cli.conftest import Kplane

NO_ENV = {"KPLANE_ENDPOINT": "", "KPLANE_TOKEN": "", "KPLANE_PROJECT": ""}


def test_login_writes_a_private_config_and_contexts_switch(kplane: Kplane, project: str) -> None:
    endpoint, token = kplane.env["KPLANE_ENDPOINT"], kplane.env["KPLANE_TOKEN"]
    r = kplane.run(
        "login", "--endpoint", endpoint, "--token", token, "--project", project, env=NO_ENV
    )
    assert r.returncode == 0, r.stderr
    path = kplane.config_home / "kplane" / "config.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = yaml.safe_load(path.read_text())
    assert saved["current_context"] == "default"
    assert saved["contexts"]["default"] == {
        "endpoint": endpoint,
        "token": token,
        "project": project,
    }

    # The stored context alone is enough to reach the API.
    r = kplane.run("clusters", "list", env=NO_ENV)
    assert r.returncode == 0, r.stderr
    assert "main" in r.stdout

    r = kplane.run(
        "login",
        "--context",
        "other",
        "--endpoint",
        "http://127.0.0.1:9",
        "--token",
        "x",
        "--project",
        project,
        "--no-verify",
        env=NO_ENV,
    )
    assert r.returncode == 0, r.stderr
    listed = kplane.ok("context", "list")
    assert "* other" in " ".join(listed.split())
    r = kplane.run("clusters", "list", env=NO_ENV)
    assert r.returncode == 1 and "cannot reach http://127.0.0.1:9" in r.stderr
    # --context picks one for a single command; the environment overrides fields of it.
    r = kplane.run("--context", "default", "clusters", "list", env=NO_ENV)
    assert r.returncode == 0, r.stderr
    r = kplane.run(
        "clusters",
        "list",
        env={
            **NO_ENV,
            "KPLANE_ENDPOINT": endpoint,
            "KPLANE_TOKEN": token,
            "KPLANE_PROJECT": project,
        },
    )
    assert r.returncode == 0, r.stderr
    assert kplane.run("context", "use", "default").returncode == 0
    assert yaml.safe_load(path.read_text())["current_context"] == "default"
    assert kplane.run("context", "use", "nope").returncode == 2
    assert kplane.run("context", "delete", "other").returncode == 0
    assert "other" not in yaml.safe_load(path.read_text())["contexts"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_login_with_a_bad_token_fails_and_writes_nothing(kplane: Kplane) -> None:
    r = kplane.run(
        "login", "--endpoint", kplane.env["KPLANE_ENDPOINT"], "--token", "wrong", env=NO_ENV
    )
    assert r.returncode == 1
    assert "401 UNAUTHENTICATED" in r.stderr
    assert not (kplane.config_home / "kplane" / "config.yaml").exists()


def test_without_endpoint_or_project_it_is_a_usage_error(kplane: Kplane) -> None:
    r = kplane.run("kafka-versions", "list", env=NO_ENV)
    assert r.returncode == 2
    assert "no API endpoint" in r.stderr
    r = kplane.run("clusters", "list", env={"KPLANE_PROJECT": ""})
    assert r.returncode == 2
    assert "no project" in r.stderr
