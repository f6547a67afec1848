"""--backend as every command offers it: its names and its help read from the table of backends
(inpaint.backends) when they are used or shown, so that every command offers the same rows."""
from __future__ import annotations

from typing import Callable

import click


class BackendChoice(click.Choice):
    """click.Choice over the table's names, `auto` first where the command takes it."""

    def __init__(self, auto: bool = True):
        self.auto = auto
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from inpaint import backends
        return ((backends.AUTO,) if self.auto else ()) + backends.names()

    @choices.setter
    def choices(self, value) -> None:     # click.Choice.__init__ sets it: the table is the source
        pass


class TableHelpOption(click.Option):
    """An option whose help is written when shown, by help_from(), from the table as it is then."""

    def __init__(self, *args, help_from: Callable[[], str], **kwargs):
        self.help_from = help_from
        super().__init__(*args, **kwargs)

    @property
    def help(self) -> str:
        return self.help_from()

    @help.setter
    def help(self, value) -> None:
        pass


def rows_help() -> str:
    """'trt: the host loop on ...; ort: ...', one clause per row of the table."""
    from inpaint import backends
    return "; ".join(f"{row.name}: {row.about}" for row in backends.BACKENDS)


def backend_option(auto: str, default: str | None = "auto", **kwargs):
    """--backend over the table's rows and auto; `auto`: what auto picks, for the help."""
    return click.option("--backend", cls=TableHelpOption, type=BackendChoice(), default=default,
                        help_from=lambda: f"{rows_help()}; auto: {auto}.", **kwargs)
