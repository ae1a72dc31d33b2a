"""``tokendesk agent``: agents (API users) and whether they may be given tokens."""

from __future__ import annotations

import argparse

from desktop.cli.common import EXIT_OK, Handler, Subparsers, command, noun
from desktop.cli.output import cell, emit, table
from desktop.services.display import yes_no
from desktop.services.tokens import TokenService
from desktop.services.views import AgentView

HEADERS = ["NAME", "ROLE", "LOGGED IN", "SIGNED AGREEMENT", "DISABLED", "ELIGIBLE", "TOKENS"]


def register(commands: Subparsers) -> None:
    actions = noun(
        commands,
        "agent",
        "agents (API users) and their eligibility",
        "Agents (API users) and their eligibility. Only agents who are not disabled, have "
        "logged in and signed the usage agreement may be given a token or use one: the "
        "tokens of any other agent are refused (401).",
    )
    p = command(actions, "add", add, "add an agent")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", required=True, metavar="ROLE", help="the agent's role")
    p.add_argument("--logged-in", action="store_true", help="the agent has logged in")
    p.add_argument(
        "--signed-agreement", action="store_true", help="the agent signed the usage agreement"
    )
    command(actions, "list", list_, "list agents")
    p = command(
        actions,
        "disable",
        set_disabled(True),
        "disable an agent: every token it holds is refused (401), none is refreshed or rotated",
    )
    p.add_argument("name", metavar="NAME")
    p = command(
        actions, "enable", set_disabled(False), "enable a disabled agent: its tokens work again"
    )
    p.add_argument("name", metavar="NAME")
    p = command(actions, "update", update, "change an agent's role or flags")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", metavar="ROLE", help="a new role")
    # Each flag can be set, cleared or (given neither way) left as it is.
    login = p.add_mutually_exclusive_group()
    login.add_argument(
        "--logged-in",
        dest="logged_in",
        action="store_const",
        const=True,
        help="the agent has logged in",
    )
    login.add_argument(
        "--not-logged-in",
        dest="logged_in",
        action="store_const",
        const=False,
        help="the agent has not logged in",
    )
    agreement = p.add_mutually_exclusive_group()
    agreement.add_argument(
        "--signed-agreement",
        dest="signed_agreement",
        action="store_const",
        const=True,
        help="the agent signed the usage agreement",
    )
    agreement.add_argument(
        "--unsigned-agreement",
        dest="signed_agreement",
        action="store_const",
        const=False,
        help="the agent has not signed the usage agreement",
    )


def describe(agent: AgentView, verb: str) -> str:
    """What was done to the agent, and whether it may now be given tokens (and if not, why)."""
    if agent.eligible:
        eligibility = "may be given tokens"
    elif agent.disabled:
        eligibility = "it is disabled: its tokens are refused until it is enabled"
    else:
        eligibility = f"may not be given tokens yet: {agent.ineligible_reason()}"
    return f"{verb} agent {agent.name!r} with role {agent.role!r}; {eligibility}."


def add(service: TokenService, args: argparse.Namespace) -> int:
    agent = service.add_agent(
        args.name, args.role, has_logged_in=args.logged_in, signed_agreement=args.signed_agreement
    )
    emit(args, agent.to_json(), describe(agent, "Added"))
    return EXIT_OK


def update(service: TokenService, args: argparse.Namespace) -> int:
    agent = service.update_agent(
        args.name,
        role=args.role,
        has_logged_in=args.logged_in,
        signed_agreement=args.signed_agreement,
    )
    emit(args, agent.to_json(), describe(agent, "Updated"))
    return EXIT_OK


def set_disabled(disabled: bool) -> Handler:
    def handler(service: TokenService, args: argparse.Namespace) -> int:
        agent = service.set_agent_disabled(args.name, disabled)
        if disabled:
            held = "its token is" if agent.token_count == 1 else "its tokens are"
            text = f"Disabled agent {agent.name!r}: {held} refused (401) until it is enabled."
        else:
            text = describe(agent, "Enabled")
        emit(args, agent.to_json(), text)
        return EXIT_OK

    return handler


def _row(agent: AgentView) -> list[str]:
    return [
        cell(agent.name),
        cell(agent.role),
        yes_no(agent.has_logged_in),
        yes_no(agent.signed_agreement),
        yes_no(agent.disabled),
        yes_no(agent.eligible),
        str(agent.token_count),
    ]


def list_(service: TokenService, args: argparse.Namespace) -> int:
    agents = service.agents()
    emit(
        args,
        lambda: [agent.to_json() for agent in agents],
        lambda: table(HEADERS, [_row(agent) for agent in agents], empty="No agents."),
    )
    return EXIT_OK
