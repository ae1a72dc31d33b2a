"""``tokendesk env``: environments and their API access."""

from __future__ import annotations

import argparse
import shlex

from desktop.cli.common import EXIT_OK, Handler, Subparsers, command, noun
from desktop.cli.output import cell, emit, table
from desktop.services.tokens import TokenService
from desktop.services.views import EnvironmentView


def register(commands: Subparsers) -> None:
    actions = noun(
        commands,
        "env",
        "environments and their API access",
        "Environments and their API access.",
    )
    p = command(
        actions,
        "add",
        add,
        "add an environment (API access starts disabled: its tokens are refused, 401)",
    )
    p.add_argument("name", metavar="NAME")
    access = p.add_mutually_exclusive_group()
    access.add_argument(
        "--api-enabled", action="store_true", help="start with API access enabled at once"
    )
    # The default now; still accepted from scripts written when access started enabled.
    access.add_argument("--disabled", action="store_true", help=argparse.SUPPRESS)
    command(actions, "list", list_, "list environments")
    p = command(actions, "enable", set_api_access(True), "enable API access for an environment")
    p.add_argument("name", metavar="NAME")
    p = command(
        actions,
        "disable",
        set_api_access(False),
        "disable API access for an environment (its tokens are refused, 401)",
    )
    p.add_argument("name", metavar="NAME")


def _state(env: EnvironmentView) -> str:
    return "enabled" if env.api_enabled else "disabled"


def add(service: TokenService, args: argparse.Namespace) -> int:
    env = service.add_environment(args.name, api_enabled=args.api_enabled)
    text = f"Added environment {env.name!r} (API access {_state(env)})."
    if not env.api_enabled:  # secure by default: say how to open it, shell-quoted
        text += f" Turn it on with: tokendesk env enable {shlex.quote(env.name)}"
    emit(args, env.to_json(), text)
    return EXIT_OK


def set_api_access(enabled: bool) -> Handler:
    def handler(service: TokenService, args: argparse.Namespace) -> int:
        env = service.set_api_enabled(args.name, enabled)
        emit(args, env.to_json(), f"API access {_state(env)} for environment {env.name!r}.")
        return EXIT_OK

    return handler


def list_(service: TokenService, args: argparse.Namespace) -> int:
    envs = service.environments()
    emit(
        args,
        lambda: [env.to_json() for env in envs],
        lambda: table(
            ["NAME", "API ACCESS", "TOKENS"],
            [[cell(env.name), _state(env), str(env.token_count)] for env in envs],
            empty="No environments.",
        ),
    )
    return EXIT_OK
