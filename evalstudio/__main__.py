"""``evalstudio``: subcommands run headless (see :mod:`evalstudio.cli`); anything else opens the app."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["__probe_model__"]:  # the frozen app running a model file in a child (core.models.probe)
        from evalstudio.core.models.probe_child import main as probe_main

        return probe_main(args[1:])
    from evalstudio.cli import COMMANDS

    if args and (args[0] in COMMANDS or args[0] in ("-h", "--help", "--version")):
        from evalstudio.cli import main as cli_main

        return cli_main(args)
    from evalstudio.app import main as app_main

    return app_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
