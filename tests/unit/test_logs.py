"""The log file: where it goes, that only its owner can read it, that it rotates, and that no
secret reaches it, whether in a message, its arguments, a traceback or a stack."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
import pytest

from desktop import logs
from desktop.domain import tokens

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def body(secret: str) -> str:
    return secret[len(tokens.PREFIX) :]


def assert_no_secret(text: str, secret: str) -> None:
    assert secret not in text
    assert body(secret)[:16] not in text  # not even a piece of it
    assert body(secret)[-16:] not in text


@pytest.fixture
def handler(tmp_path: Path) -> Iterator[logs.PrivateRotatingFileHandler]:
    """The file handler on a logger of its own (nothing propagates to the test run's root)."""
    made = logs.file_handler(tmp_path / "logs")
    logger = logging.getLogger("tests.logs")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(made)
    yield made
    logger.removeHandler(made)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    made.close()


def written(handler: logs.PrivateRotatingFileHandler) -> str:
    handler.flush()
    return Path(handler.baseFilename).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- masking


def test_mask_replaces_a_real_token_and_leaves_the_rest() -> None:
    secret = tokens.generate()
    assert logs.mask(f"presented {secret}, refused") == "presented tdk_[masked], refused"
    assert logs.mask(f"({secret})") == "(tdk_[masked])"
    assert logs.mask(f"typo {secret[:-1]}x") == "typo tdk_[masked]"
    assert logs.mask("tdk_short") == "tdk_[masked]"
    assert logs.mask(f"no prefix {body(secret)}.") == "no prefix [masked]."
    assert logs.mask("token 12 rotated; masked tdk_••••••••ab12") == (
        "token 12 rotated; masked tdk_••••••••ab12"
    )
    assert logs.mask("") == ""


def test_a_secret_never_reaches_the_file(handler: logs.PrivateRotatingFileHandler) -> None:
    logger = logging.getLogger("tests.logs")
    in_message, in_args, in_error, in_dict = (tokens.generate() for _ in range(4))

    logger.warning(f"the message itself holds {in_message}")
    logger.info("the arguments hold %s and %d", in_args, 7)
    logger.info("a mapping: %(secret)s", {"secret": in_dict})
    try:
        raise ValueError(f"the error holds {in_error}")
    except ValueError:
        logger.exception("failed with %s", in_args)
    logger.info("where from, with %s", in_args, stack_info=True)

    text = written(handler)
    for secret in (in_message, in_args, in_error, in_dict):
        assert_no_secret(text, secret)
    assert "the message itself holds tdk_[masked]" in text
    assert "the arguments hold tdk_[masked] and 7" in text
    assert "a mapping: tdk_[masked]" in text
    assert "ValueError: the error holds tdk_[masked]" in text
    assert "Traceback (most recent call last)" in text
    assert "Stack (most recent call last)" in text


def test_arguments_that_do_not_fit_the_message_are_kept_masked(
    handler: logs.PrivateRotatingFileHandler,
) -> None:
    secret = tokens.generate()
    logging.getLogger("tests.logs").error("one placeholder %s %s", secret)
    text = written(handler)
    assert_no_secret(text, secret)
    assert "one placeholder" in text and "tdk_[masked]" in text


def test_the_filter_masks_the_record_for_every_later_handler() -> None:
    secret = tokens.generate()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", (secret,), None)
    assert logs.MaskTokens().filter(record) is True
    assert record.getMessage() == "got tdk_[masked]"
    assert record.args is None


# ---------------------------------------------------------------------------- the file


@posix_only
def test_the_folder_and_the_file_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "made" / "for" / "logs"
    made = logs.file_handler(folder)
    try:
        logging.getLogger("tests.logs.private").addHandler(made)
        made.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None))
    finally:
        logging.getLogger("tests.logs.private").removeHandler(made)
        made.close()
    assert mode(folder) == 0o700
    assert mode(folder / logs.FILENAME) == 0o600


@posix_only
def test_the_files_are_private_under_the_usual_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        made = logs.file_handler(tmp_path / "logs")
        made.maxBytes = 200
        logger = logging.getLogger("tests.logs.umask")
        logger.addHandler(made)
        try:
            for n in range(20):
                logger.warning("line %d, long enough to roll the file over soon", n)
        finally:
            logger.removeHandler(made)
            made.close()
    finally:
        os.umask(previous)
    files = sorted((tmp_path / "logs").iterdir())
    assert len(files) == 1 + logs.BACKUP_COUNT
    assert mode(tmp_path / "logs") == 0o700
    assert {mode(path) for path in files} == {0o600}


@posix_only
def test_an_existing_wider_file_is_narrowed_and_an_existing_folder_left_alone(
    tmp_path: Path,
) -> None:
    tmp_path.chmod(0o755)
    old = tmp_path / logs.FILENAME
    old.write_text("from an older run\n")
    old.chmod(0o644)
    made = logs.file_handler(tmp_path)
    made.close()
    assert mode(old) == 0o600
    assert mode(tmp_path) == 0o755  # a log folder shared on purpose keeps its mode
    assert old.read_text().startswith("from an older run")


@posix_only
def test_rotation_keeps_three_old_files_all_private(
    handler: logs.PrivateRotatingFileHandler,
) -> None:
    assert (handler.maxBytes, handler.backupCount) == (1024 * 1024, 3)
    handler.maxBytes = 2_000  # the same rollover, sooner
    logger = logging.getLogger("tests.logs")
    secret = tokens.generate()
    for n in range(200):
        logger.info("line %d of a long run, with %s", n, secret)
    folder = Path(handler.baseFilename).parent
    names = sorted(p.name for p in folder.iterdir())
    assert names == [logs.FILENAME] + [f"{logs.FILENAME}.{n}" for n in (1, 2, 3)]
    for path in folder.iterdir():
        assert mode(path) == 0o600, path.name
        assert path.stat().st_size <= 2_000
        assert_no_secret(path.read_text(encoding="utf-8"), secret)
    assert "line 199 " in written(handler)


def test_a_record_that_cannot_be_written_is_dropped_quietly(
    handler: logs.PrivateRotatingFileHandler, capsys: pytest.CaptureFixture[str]
) -> None:
    class DiskFull(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    handler.close()
    setattr(handler, "stream", DiskFull())  # noqa: B010 - a stream of another type
    logging.getLogger("tests.logs").error("lost")
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------- where it goes


def test_log_dir_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(logs.ENV_LOG_DIR, raising=False)
    monkeypatch.delenv("TOKENDESK_DATA_DIR", raising=False)
    assert logs.log_dir() == Path(platformdirs.user_log_dir("TokenDesk", appauthor=False))
    assert logs.log_dir(tmp_path / "data") == tmp_path / "data"
    monkeypatch.setenv("TOKENDESK_DATA_DIR", str(tmp_path / "from-env"))
    assert logs.log_dir() == tmp_path / "from-env"
    assert logs.log_dir(tmp_path / "data") == tmp_path / "data"
    monkeypatch.setenv(logs.ENV_LOG_DIR, str(tmp_path / "logs"))
    assert logs.log_dir(tmp_path / "data") == tmp_path / "logs"


@pytest.mark.parametrize(
    ("value", "level"),
    [(None, logging.WARNING), ("debug", logging.DEBUG), (" INFO ", logging.INFO), ("loud", 30)],
)
def test_stderr_level(monkeypatch: pytest.MonkeyPatch, value: str | None, level: int) -> None:
    if value is None:
        monkeypatch.delenv(logs.ENV_LOG_LEVEL, raising=False)
    else:
        monkeypatch.setenv(logs.ENV_LOG_LEVEL, value)
    assert logs.stderr_level() == level


# ---------------------------------------------------------------------------- install


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger as a plain program starts with it: no handlers, level WARNING. (Entered
    in the test itself: pytest adds its capturing handlers as each phase of a test begins.)"""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    root.setLevel(logging.WARNING)
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_install_logs_to_stderr_and_the_file_then_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(logs.ENV_LOG_LEVEL, raising=False)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    secret = tokens.generate()
    ours, theirs = logging.getLogger("desktop.example"), logging.getLogger("peewee")

    with bare_root() as root:
        installed = logs.install(tmp_path, stderr_format="tokendesk: %(levelname)s: %(message)s")
        assert installed.file == tmp_path / logs.FILENAME
        assert logs.log_file() == installed.file
        ours.debug("our detail")
        theirs.debug("their query")
        theirs.info("their news")
        ours.info("which command ran", extra=logs.FILE_ONLY)
        ours.warning("careful with %s", secret)
        installed.remove()
        assert root.handlers == [] and root.level == logging.WARNING

    assert stream.getvalue() == "tokendesk: WARNING: careful with tdk_[masked]\n"
    text = (tmp_path / logs.FILENAME).read_text(encoding="utf-8")
    assert "our detail" in text and "their news" in text and "which command ran" in text
    assert "their query" not in text  # a library's DEBUG stays out unless asked for
    assert_no_secret(text, secret)
    assert logging.getLogger("desktop").level == logging.NOTSET
    assert logs.log_file() is None


def test_install_keeps_a_configured_root_and_asked_for_debug_reaches_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.ENV_LOG_LEVEL, "DEBUG")
    root = logging.getLogger()
    before = list(root.handlers)
    installed = logs.install(tmp_path, stderr_format="%(message)s")
    try:
        assert [h for h in root.handlers if h not in before] == [
            h for h in installed.handlers if isinstance(h, logs.PrivateRotatingFileHandler)
        ]
        logging.getLogger("peewee").debug("their query")
    finally:
        installed.remove()
    assert root.handlers == before
    assert "their query" in (tmp_path / logs.FILENAME).read_text(encoding="utf-8")


def test_install_without_a_usable_folder_logs_to_stderr_only(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with bare_root() as root:
        installed = logs.install(blocker / "logs", stderr_format="%(message)s")
        try:
            assert installed.file is None
            assert [type(h) for h in root.handlers] == [logging.StreamHandler]
        finally:
            installed.remove()
