"""telegram-training-bot: trains people through courses, lessons and quizzes on Telegram."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("telegram-training-bot")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
