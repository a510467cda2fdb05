"""Package layout: the directories keep the design's names, the import packages get theirs.

`operator` is a standard-library module, so `src/operator` installs as `trainingbot_operator`;
`src/bot` installs as `trainingbot`, and `migrations/` ships inside the distribution as
`trainingbot_migrations` so that `training-bot migrate` finds it in a wheel and in an image.
"""

from setuptools import find_packages, setup

PACKAGE_DIRS = {
    "trainingbot": "src/bot",
    "trainingbot_operator": "src/operator",
    "trainingbot_migrations": "migrations",
}


def packages(top: str, where: str) -> list[str]:
    return [top] + [f"{top}.{sub}" for sub in find_packages(where)]


# The sample courses are data (a course directory's name is not an identifier), in a directory
# Python could import as a namespace package; naming it keeps setuptools from guessing.
COURSES = "trainingbot.content.courses"

setup(
    package_dir=PACKAGE_DIRS,
    packages=[pkg for top, where in PACKAGE_DIRS.items() for pkg in packages(top, where)]
    + [COURSES],
    package_data={
        "trainingbot": ["py.typed"],
        # The demo's web page (HTML, CSS, JS), served from the package.
        "trainingbot.emulator.web": ["static/*"],
        COURSES: ["**/*.yaml", "**/*.md"],
        "trainingbot_migrations": ["script.py.mako", "alembic.ini"],
    },
)
