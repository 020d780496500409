"""tools.bytecode: the built artifacts carry bytecode Lambda can use as it is (issue 16)."""

from __future__ import annotations

import importlib.util
import marshal
from pathlib import Path

from tools import bytecode


def _build(root: Path) -> Path:
    """A `sam build` output in miniature: a layer, a function, and the built template naming them."""
    build = root / "build"
    (build / "SharedLayer" / "python" / "tickets").mkdir(parents=True)
    (build / "SharedLayer" / "python" / "tickets" / "__init__.py").write_text("VALUE = 42\n")
    (build / "SharedLayer" / "python" / "pydantic" / "v1").mkdir(parents=True)
    (build / "SharedLayer" / "python" / "pydantic" / "v1" / "old.py").write_text("OLD = 1\n")
    (build / "GetTicketFunction").mkdir()
    (build / "GetTicketFunction" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (build / "template.yaml").write_text(
        "Resources:\n"
        "  SharedLayer:\n    Type: AWS::Serverless::LayerVersion\n    Properties: {ContentUri: SharedLayer}\n"
        "  GetTicketFunction:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: GetTicketFunction}\n"
        "  Table:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n"
    )
    return build


def _pyc(source: Path) -> Path:
    return Path(importlib.util.cache_from_source(str(source)))


def test_given_a_build_when_compiled_then_every_module_has_unchecked_bytecode_naming_the_lambda_paths(tmp_path):
    build = _build(tmp_path)

    assert bytecode.main([str(build)]) == 0

    layer_source = build / "SharedLayer" / "python" / "tickets" / "__init__.py"
    app_source = build / "GetTicketFunction" / "app.py"
    for source, lambda_path in (
        (layer_source, "/opt/python/tickets/__init__.py"),
        (app_source, "/var/task/app.py"),
    ):
        data = _pyc(source).read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER
        flags = int.from_bytes(data[4:8], "little")
        assert flags == 0b01, "hash-based and unchecked: a zip's timestamps cannot make it stale"
        assert marshal.loads(data[16:]).co_filename == lambda_path
    assert not _pyc(build / "SharedLayer" / "python" / "pydantic" / "v1" / "old.py").exists()


def test_given_a_build_then_its_targets_are_the_layers_python_dirs_and_the_function_dirs(tmp_path):
    build = _build(tmp_path)

    assert bytecode.targets(build) == sorted(
        [
            ((build / "GetTicketFunction").resolve(), "/var/task"),
            ((build / "SharedLayer" / "python").resolve(), "/opt/python"),
        ]
    )


def test_given_no_build_then_it_says_to_run_make_build(tmp_path, capsys):
    assert bytecode.main([str(tmp_path)]) == 1
    assert "make build" in capsys.readouterr().err
