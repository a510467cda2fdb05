"""The validator's table of callback layouts matches the bot's callback classes, and the
validator's path imports no aiogram (it must answer fast enough for a pre-commit hook)."""

from __future__ import annotations

import subprocess
import sys

from aiogram.filters.callback_data import CallbackData

from trainingbot.content.buttons import CALLBACK_DATA_LIMIT, CALLBACK_LAYOUTS, packed_size
from trainingbot.keyboards import callbacks


def _classes() -> dict[str, type[CallbackData]]:
    return {
        name: value
        for name, value in vars(callbacks).items()
        if isinstance(value, type) and issubclass(value, CallbackData) and value is not CallbackData
    }


def test_every_callback_class_has_its_layout_field_for_field():
    layouts = {layout.name: layout for layout in CALLBACK_LAYOUTS}
    classes = _classes()
    assert set(layouts) == set(classes)
    for name, cls in classes.items():
        layout = layouts[name]
        assert layout.prefix == cls.__prefix__, name
        assert layout.fields == tuple(cls.model_fields), name
        action = cls.model_fields.get("action")
        expected = tuple(a.value for a in action.annotation) if action else ()
        assert layout.actions == expected, name
    assert CALLBACK_DATA_LIMIT == callbacks.CALLBACK_DATA_LIMIT


def test_packed_sizes_are_what_aiogram_packs():
    values = {"course": "on-call-101", "lesson": "severity", "question": "q-p1", "option": 3}
    for layout, cls in zip(CALLBACK_LAYOUTS, _classes().values(), strict=True):
        fields = {field: values.get(field) for field in layout.fields}
        for action in layout.actions or (None,):
            if action is not None:
                fields["action"] = action
            packed = cls(**fields).pack()
            assert packed_size(layout, fields) == len(packed.encode()), packed


def test_validating_content_imports_no_aiogram():
    probe = (
        "import sys\n"
        "from trainingbot.cli import main\n"
        "from trainingbot.content import SAMPLE_CONTENT_DIR\n"
        "code = main(['content', 'validate', str(SAMPLE_CONTENT_DIR)])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('aiogram', 'aiohttp'))\n"
        "print('HEAVY=' + ','.join(heavy))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout
    assert "HEAVY=\n" in done.stdout, done.stdout
