"""The headless front door: ``evalstudio evaluate | train | kfold | compare | calibrate | screenshots``.

Each subcommand lives in ``evalstudio/commands/<name>.py`` and provides
``add_parser(subparsers) -> argparse.ArgumentParser`` and ``run(args) -> int``.

Exit codes: 0 success, 2 bad input (one ``error: ...`` line on stderr, never a traceback unless
``--debug``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from evalstudio import __version__
from evalstudio.core.errors import EvalStudioError

COMMANDS = ("evaluate", "train", "kfold", "compare", "calibrate", "screenshots")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one ``error:`` line, exit 2 (the contract for bad input).

    The line names the problem and where to read the options; the full usage is one ``--help`` away
    instead of a dozen lines that push the error itself out of sight.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        message = message.rstrip(".")
        sys.stderr.write(f"error: {message}. Run '{self.prog} --help' for the options.\n")
        raise SystemExit(2)


class _ClosedPipeTolerant:
    """stdout that outlives its reader: ``evalstudio train ... | head`` still finishes the run.

    Once the reader has gone (``BrokenPipeError``), the rest of the output goes to ``os.devnull`` and
    the command carries on, so checkpoints, the JSON and the predictions file are still written.
    """

    def __init__(self, stream: object) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def _drop(self) -> None:
        self.closed_by_reader = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())  # type: ignore[attr-defined]
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text: str) -> int:
        if self.closed_by_reader:
            return len(text)
        try:
            return int(self._stream.write(text))  # type: ignore[attr-defined]
        except BrokenPipeError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        if self.closed_by_reader:
            return
        try:
            self._stream.flush()  # type: ignore[attr-defined]
        except BrokenPipeError:
            self._drop()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="evalstudio", description="Honest, fast evaluation of PyTorch classifiers.")
    parser.add_argument("--version", action="version", version=f"evalstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"evalstudio.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"evalstudio.commands.{name}":
                continue  # not built yet
            raise
        p = module.add_parser(sub)
        p.add_argument("--debug", action="store_true", help="show a traceback on errors")
        p.set_defaults(_run=module.run, _parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the subcommand's --help, not the top level's
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    stdout = sys.stdout
    if not isinstance(stdout, _ClosedPipeTolerant):
        sys.stdout = _ClosedPipeTolerant(stdout)
    try:
        return int(args._run(args) or 0)
    except BrokenPipeError:  # a pipe other than stdout: stdout's own is absorbed above
        sys.stderr.write("error: the output pipe was closed before the command finished.\n")
        return 2
    except EvalStudioError as exc:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except SystemExit as exc:  # only user code (the model file) raises it once the command runs
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(
            f"error: code in the model file called sys.exit({exc.code!r}) during the run, which evalstudio treats as "
            "an error. Remove the exit: importing the file, building the model and forward() must return.\n"
        )
        return 2
    except Exception as exc:  # a bug of ours or an unforeseen input: still one clear line
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {exc} "
            "(run again with --debug for the traceback, and please report it)\n"
        )
        return 2
    finally:
        if isinstance(sys.stdout, _ClosedPipeTolerant):
            sys.stdout.flush()
            sys.stdout = stdout


if __name__ == "__main__":
    raise SystemExit(main())
