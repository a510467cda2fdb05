"""`training-bot`: the bot's command line. Each subcommand delegates to the module that owns it.

Imports are lazy so that `training-bot content validate` does not pay for aiogram, and a
broken optional dependency of one command does not break the others.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from trainingbot.runtime.app import main

    return main()


def _migrate(args: argparse.Namespace) -> int:
    from trainingbot.db.migrate import main

    return main(revision=args.revision)


def _backup(args: argparse.Namespace) -> int:
    from trainingbot.backup import main

    return main(args.file)


def _content_validate(args: argparse.Namespace) -> int:
    from trainingbot.content.validate import main

    return main(args.directory)


def _content_pack(args: argparse.Namespace) -> int:
    from trainingbot.content.pack import main

    return main(args.directory, args.name, args.namespace, args.output_dir)


def _demo(args: argparse.Namespace) -> int:
    # At once: starting takes seconds (aiogram, PostgreSQL) and must not look hung.
    print("training-bot demo: starting…", file=sys.stderr, flush=True)
    from trainingbot.demo import main

    return main(args)


def _emulator(args: argparse.Namespace) -> int:
    from trainingbot.emulator.serve import main

    return main(args)


def _smoke(args: argparse.Namespace) -> int:
    from trainingbot.smoke import main

    return main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="training-bot",
        description="A Telegram bot that trains people through courses, lessons and quizzes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot (BOT_MODE=polling or webhook)")
    run.set_defaults(func=_run)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade)")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    migrate.set_defaults(func=_migrate)

    backup = sub.add_parser(
        "backup",
        help="pg_dump DATABASE_URL to a file (custom format), the password on no command line",
    )
    backup.add_argument("--file", type=Path, required=True, help="the dump to write")
    backup.set_defaults(func=_backup)

    content = sub.add_parser("content", help="work with course files")
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    validate = content_sub.add_parser("validate", help="check a directory of course files")
    validate.add_argument("directory", type=Path, help="the content directory (CONTENT_DIR)")
    validate.set_defaults(func=_content_validate)
    pack = content_sub.add_parser(
        "pack",
        help="validate, then print a ConfigMap manifest holding the course files "
        "(for TrainingBot spec.content.configMapName)",
    )
    pack.add_argument("directory", type=Path, help="the content directory")
    pack.add_argument("--name", default=None, help="the ConfigMap's name (training-bot-content)")
    pack.add_argument("--namespace", default=None, help="the ConfigMap's namespace")
    pack.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="write the flat files (one per ConfigMap key) here instead of printing a manifest",
    )
    pack.set_defaults(func=_content_pack)

    demo = sub.add_parser(
        "demo",
        help="the bot with an embedded PostgreSQL and the local Bot API emulator, "
        "in a web page and in this terminal: no token, no servers",
    )
    demo.add_argument(
        "--content",
        "--content-dir",
        dest="content_dir",
        type=Path,
        default=None,
        help="course files to serve, reloaded on every save "
        "(default: the sample course On-call 101)",
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="serve the web page only (no terminal chat, no browser); "
        "prints URL=http://127.0.0.1:PORT/ once it answers",
    )
    demo.add_argument(
        "--port",
        type=int,
        default=None,
        help="the web page's port (default 8765, or any free port if that one is taken)",
    )
    demo.add_argument(
        "--script",
        type=Path,
        default=None,
        help="read the trainee's messages from this file instead of the terminal",
    )
    demo.set_defaults(func=_demo)

    emulator = sub.add_parser(
        "emulator", help="serve the local Bot API emulator for a bot running elsewhere"
    )
    emulator.add_argument("--host", default="127.0.0.1", help="listen address")
    emulator.add_argument("--port", type=int, default=8081, help="listen port (default 8081)")
    emulator.add_argument("--token", default=None, help="the bot's token (default: BOT_TOKEN)")
    emulator.add_argument(
        "--flood-control", action="store_true", help="answer 429 past Telegram's flood limits"
    )
    emulator.set_defaults(func=_emulator)

    smoke = sub.add_parser("smoke", help="smoke checks against a running bot")
    smoke.add_argument(
        "--target", required=True, help="the bot's operations URL, e.g. http://localhost:8080"
    )
    smoke.add_argument(
        "--webhook-url",
        default=None,
        help="the webhook listener (default: the target's host on port 8081)",
    )
    smoke.add_argument(
        "--webhook-secret",
        default=None,
        help="send one synthetic update through the webhook with this secret",
    )
    smoke.add_argument("--timeout", type=float, default=10.0, help="seconds per check")
    smoke.set_defaults(func=_smoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
