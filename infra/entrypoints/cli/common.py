"""What every command group of ``vangnet`` shares: exit codes, option types, ``--json`` output,
progress bars, opening the container, logging to stderr.

The CLI is built on click (options, help, usage errors: exit 2) and rich (progress bars on
stderr, shown on a terminal only, so logs and pipes get plain lines).
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from click.parser import _OptionParser, _ParsingState
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from infra.bootstrap.container import Container
from infra.config.settings import Settings
from tenants.registry import School

#: A command found differences (views, logs) or could not read what it checks.
EXIT_DIFFERENCES = 1
#: A command was refused (bad input, settings, usage): one line on stderr, nothing stored.
EXIT_REFUSED = 2

#: A positive whole number (``--port``, ``--threads``, ...).
POSITIVE = click.IntRange(min=1)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def json_option(help_text: str = "print JSON (for scripts) instead of lines") -> Callable[[F], F]:
    """``--json``: the command prints one JSON document on stdout instead of lines."""
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def print_json(data: Any) -> None:
    """One JSON document on stdout (UTF-8 text, stable key order as given)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def school_choice(func: F) -> F:
    """``--school SLUG`` or ``--all`` (exactly one), passed as ``school`` and ``all_schools``."""

    @click.option("--all", "all_schools", is_flag=True, help="every school")
    @click.option("--school", metavar="SLUG", help="one school, by slug")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if bool(kwargs.get("school")) == bool(kwargs.get("all_schools")):
            raise click.UsageError("give exactly one of --school SLUG and --all")
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def schools_of(container: Container, school: str | None) -> list[School]:
    """The schools :func:`school_choice` chose (``school`` None: every school)."""
    if school:
        return [container.registry.school_by_slug(school)]
    return container.registry.list_schools()


class CommandGroup(click.Group):
    """A group that, run without a command, prints its help and exits 0 (click's default since
    8.2 is exit 2, a usage error; the argparse CLI showed the help)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)


class GreedyOption(click.Option):
    """A repeatable option that also takes the values following it (``--to a b --to c``), as
    the argparse CLI's ``nargs="+"`` options did: up to the next option."""

    def add_to_parser(self, parser: _OptionParser, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            single = option.process

            def process(value: Any, state: _ParsingState, single: Any = single) -> None:
                single(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    single(state.rargs.pop(0), state)

            option.process = process  # type: ignore[method-assign]


def stderr_console() -> Console:
    """A console on (the current) stderr: bars on a terminal, nothing else."""
    return Console(stderr=True)


class Bar:
    """A progress display on stderr: one bar over the items (schools, cases, ...) and, when
    asked, a running count with its rate (events). Lines said through :meth:`say` appear above
    the bar on a terminal and as plain lines on stderr elsewhere."""

    def __init__(self, progress: Progress, items: TaskID, counter: TaskID | None) -> None:
        self._progress = progress
        self._items = items
        self._counter = counter

    def describe(self, text: str) -> None:
        self._progress.update(self._items, description=text)

    def item_done(self) -> None:
        self._progress.advance(self._items)

    def advance(self, n: int) -> None:
        """``n`` more items done (e.g. events read)."""
        self._progress.advance(self._items, n)

    def count(self, n: int) -> None:
        """``n`` more of what is counted (events); the rate follows."""
        if self._counter is None:
            return
        self._progress.advance(self._counter, n)
        task = next(t for t in self._progress.tasks if t.id == self._counter)
        if task.speed is not None:
            self._progress.update(self._counter, rate=f"{task.speed:,.0f}/s")

    def say(self, line: str) -> None:
        if self._progress.disable:
            click.echo(line, err=True)
        else:
            self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(what: str, total: int | None, *, counting: str | None = None) -> Iterator[Bar]:
    """A :class:`Bar` over ``total`` items (``what``: their name), with a count of
    ``counting`` (e.g. ``"events"``) and its rate if given. Shown only on a terminal."""
    console = stderr_console()
    progress = Progress(
        TextColumn("[bold]{task.description}", markup=True),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )
    with progress:
        items = progress.add_task(what, total=total, unit=what, rate="")
        counter = (
            progress.add_task(counting, total=None, unit=counting, rate="")
            if counting is not None
            else None
        )
        yield Bar(progress, items, counter)


def each_with_progress(
    what: str, items: Sequence[T], label: Callable[[T], str]
) -> Iterator[tuple[Bar, T]]:
    """``items`` one by one under a bar that names the current one (``label``)."""
    with progress_bar(what, len(items)) as bar:
        for item in items:
            bar.describe(label(item))
            yield bar, item
            bar.item_done()


def echo_lines(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(line)


def open_container() -> Container:
    """The composition root, from the environment."""
    return Container.open(Settings.from_env())


def log_to_stderr(settings: Settings) -> None:
    """Log lines to stderr at ``VANGNET_LOG_LEVEL`` (processes the CLI runs: the worker)."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # pika logs connection chatter (and, on errors, frames) at INFO.
    logging.getLogger("pika").setLevel(logging.WARNING)
