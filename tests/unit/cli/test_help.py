"""`--help` everywhere, each command with examples; and shell completion scripts."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from cli.main import GROUPS, make_app, named_group

runner = CliRunner()
app = make_app()  # every group, as `kplane --help` and completion build it


def commands() -> list[list[str]]:
    """Every leaf command as its argv path, e.g. ["topics", "apply"]."""
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(group: object, path: list[str]) -> None:
        subcommands = getattr(group, "commands", None)
        if subcommands is None:
            found.append(path)
            return
        for name, sub in subcommands.items():
            walk(sub, [*path, name])

    walk(root, [])
    return found


def test_every_resource_group_and_verb_is_there() -> None:
    names = {" ".join(c) for c in commands()}
    for group, verbs in {
        "projects": "create get list update delete",
        "tokens": "create get list update delete",
        "clusters": "create get list update delete client-config",
        "topics": "create get list update delete batch-create apply",
        "acls": "create get list update delete add-entry remove-entry",
        "users": "create get list update delete rotate-password",
        "operations": "get list wait cancel",
        "consumer-groups": "list get reset-offsets delete",
        "audit-logs": "list",
        "kafka-versions": "list",
        "context": "list use delete",
    }.items():
        for verb in verbs.split():
            assert f"{group} {verb}" in names
    assert "login" in names


def test_every_command_has_help_with_examples() -> None:
    for path in commands():
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, (path, result.output)
        assert "Examples" in result.output, path
        assert "kplane " in result.output, path


def test_shell_completion_scripts() -> None:
    for shell in ("bash", "zsh", "fish"):
        result = runner.invoke(app, ["--show-completion", shell], prog_name="kplane")
        assert result.exit_code == 0, result.output
        assert "kplane" in result.output.lower()


def test_a_command_line_builds_only_the_group_it_names() -> None:
    assert named_group(["topics", "apply", "-f", "t.yaml"]) == "topics"
    assert named_group(["--context", "prod", "consumer-groups", "list"]) == "consumer-groups"
    assert named_group(["--context=prod", "users", "get", "app"]) == "users"
    assert named_group(["login", "--endpoint", "http://x"]) == "login"
    for everything in ([], ["--help"], ["--show-completion", "bash"], ["topcis", "list"]):
        assert named_group(everything) is None
    for name in GROUPS:
        built = typer.main.get_command(make_app([name]))
        assert sorted(getattr(built, "commands", {})) == sorted([name, "login"])
