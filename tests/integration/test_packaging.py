"""Fast checks of the packaging files: build.spec, the menu entry, the icons and the Debian
package's control data. Nothing here runs PyInstaller or dpkg-deb; .ci/build-bundle
and .ci/build-deb do, and check their own results.

Set TOKENDESK_BUNDLE to a built ``tokendesk`` executable (say dist/tokendesk/tokendesk) to also
run the frozen program's self-test.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import struct
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import desktop
from desktop.secrets.store import KeyringSecretStore

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "build.spec"
CI = ROOT / ".ci"
DEBIAN = ROOT / "resources" / "debian"
RESOURCES = ROOT / "resources"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
SHELL_SCRIPTS = (
    CI / "build-bundle",
    CI / "build-deb",
    DEBIAN / "postinst",
    DEBIAN / "prerm",
    DEBIAN / "postrm",
)
UNIT = "tokendesk-serve.service"
ENV_FILE = "/etc/tokendesk/serve.env"
# What the maintainer scripts may run that the package depends on (adduser, dpkg, coreutils,
# libc-bin): the tests give them stand-ins that record their arguments.
PACKAGE_TOOLS = ("getent", "adduser", "dpkg-statoverride", "chmod")


def spec_settings() -> dict[str, Any]:
    """The literal settings at the top of build.spec (NAME, DATAS, EXCLUDES, QT_PLUGINS...)."""
    tree = ast.parse(SPEC.read_text(), filename=str(SPEC))
    settings: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                try:
                    settings[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return settings


def qt_modules_imported_by_the_app() -> set[str]:
    modules = set()
    for path in (ROOT / "desktop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "PySide6":
                    names += [f"PySide6.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            modules |= {n for n in names if re.fullmatch(r"PySide6\.Qt\w+", n)}
    return modules


# ---------------------------------------------------------------------------- build.spec


def test_the_spec_compiles_and_builds_one_folder() -> None:
    source = SPEC.read_text()
    compile(source, str(SPEC), "exec")
    assert "COLLECT(" in source  # one-folder: EXE + COLLECT, no onefile EXE
    assert "exclude_binaries=True" in source
    settings = spec_settings()
    assert settings["NAME"] == "tokendesk"
    launcher = ROOT / settings["ENTRY"]
    assert "from desktop.cli import main" in launcher.read_text()


def test_the_spec_bundles_the_resources_where_paths_finds_them() -> None:
    settings = spec_settings()
    datas: list[tuple[str, str]] = settings["DATAS"]
    for source, dest in datas:
        assert (ROOT / source).exists(), source
        assert dest.split("/")[0] == "resources"  # desktop.paths.resources_dir() in a bundle
    covered = {Path(source).relative_to("resources").parts[0] for source, _ in datas}
    left_out = set(settings["RESOURCES_LEFT_OUT"])
    assert {"icons", "tokendesk.desktop"} <= covered
    unaccounted = {p.name for p in RESOURCES.iterdir()} - covered - left_out
    assert unaccounted == set(), "add them to DATAS or RESOURCES_LEFT_OUT in build.spec"


def test_the_spec_leaves_out_what_the_app_does_not_use() -> None:
    excludes = set(spec_settings()["EXCLUDES"])
    for module in (
        "tkinter",
        "PySide6.QtQml",
        "PySide6.QtQuick",
        "PySide6.QtPdf",
        "PySide6.Qt3DCore",
        "PySide6.QtWebEngineCore",
        "PySide6.QtMultimedia",
        "PySide6.QtNetwork",
    ):
        assert module in excludes


def test_no_qt_module_the_app_imports_is_excluded() -> None:
    imported = qt_modules_imported_by_the_app()
    assert {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"} <= imported
    assert imported & set(spec_settings()["EXCLUDES"]) == set()


def test_the_kept_qt_plugins_exist_in_the_installed_pyside6() -> None:
    import PySide6

    plugins_dir = Path(PySide6.__file__).parent / "Qt" / "plugins"
    kept: dict[str, list[str]] = spec_settings()["QT_PLUGINS"]
    assert {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"} <= set(kept["platforms"])
    assert "libqsvg.so" in kept["imageformats"]
    assert "libqsvgicon.so" in kept["iconengines"]
    missing = [
        f"{folder}/{name}"
        for folder, names in kept.items()
        for name in names
        if not (plugins_dir / folder / name).is_file()
    ]
    assert missing == [], f"not in {plugins_dir}"


# ---------------------------------------------------------------------------- menu entry, icons


def test_the_desktop_entry_launches_tokendesk_with_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    # Keep keys' case, as configparser documents, by replacing a method typeshed types as one.
    entry.optionxform = str  # type: ignore[assignment, method-assign]
    entry.read(RESOURCES / "tokendesk.desktop")
    fields = entry["Desktop Entry"]
    assert fields["Type"] == "Application"
    assert fields["Name"] == "TokenDesk"
    assert fields["Exec"] == "tokendesk"
    assert fields["Icon"] == "tokendesk"
    assert fields["Terminal"] == "false"


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="desktop-file-validate not installed (apt-get install desktop-file-utils)",
)
def test_the_desktop_entry_validates() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(RESOURCES / "tokendesk.desktop")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_the_svg_icon_is_square_svg() -> None:
    # The project's own file, not untrusted input.
    root = ElementTree.parse(RESOURCES / "icons" / "tokendesk.svg").getroot()  # noqa: S314
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 256 256"


@pytest.mark.parametrize("size", ICON_SIZES)
def test_a_png_icon_exists_at_each_size(size: int) -> None:
    png = RESOURCES / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "tokendesk.png"
    header = png.read_bytes()[:26]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert header[12:16] == b"IHDR"
    width, height, _depth, colour_type = struct.unpack(">IIBB", header[16:26])
    assert (width, height) == (size, size)
    assert colour_type == 6  # RGBA: transparent corners


# ---------------------------------------------------------------------------- Debian package


def control_fields() -> dict[str, str]:
    fields: dict[str, str] = {}
    name = ""
    for line in (DEBIAN / "control.in").read_text().splitlines():
        if line.startswith(" "):
            fields[name] += "\n" + line
        else:
            name, _, value = line.partition(": ")
            fields[name] = value
    return fields


def test_the_version_is_the_same_everywhere() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == desktop.__version__


def test_the_control_file_names_the_package_and_its_needs() -> None:
    fields = control_fields()
    assert fields["Package"] == "tokendesk"
    assert fields["Version"] == "@VERSION@"
    assert fields["Architecture"] == "@ARCH@"
    for name in ("Maintainer", "Installed-Size", "Section", "Priority", "Description"):
        assert fields[name], name
    depends = {d.strip().split()[0] for d in fields["Depends"].split(",")}
    needed = {
        "libc6",
        "libegl1",
        "libgl1",
        "libfontconfig1",
        "libfreetype6",
        "libdbus-1-3",
        "libxkbcommon0",
        "libx11-6",
        "libglib2.0-0",
        "libxcb-cursor0",
        "libxcb-icccm4",
        "libxcb-image0",
        "libxcb-keysyms1",
        "libxcb-render-util0",
        "libxcb-shape0",
        "libxkbcommon-x11-0",
        "libwayland-client0",
    }
    assert needed <= depends, needed - depends
    assert "gnome-keyring" in fields["Recommends"]


def test_the_build_script_fills_every_placeholder() -> None:
    placeholders = set(re.findall(r"@[A-Z_]+@", (DEBIAN / "control.in").read_text()))
    script = (CI / "build-deb").read_text()
    assert placeholders == {"@VERSION@", "@ARCH@", "@INSTALLED_SIZE@", "@GLIBC@", "@MAINTAINER@"}
    for placeholder in placeholders:
        assert f"{placeholder}|" in script or f"{placeholder}/" in script, placeholder
    assert "--root-owner-group" in script
    assert "ln -s /opt/tokendesk/tokendesk" in script


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_are_executable_and_parse(script: Path) -> None:
    assert os.access(script, os.X_OK)
    shell = "bash" if script.read_text().startswith("#!/usr/bin/env bash") else "sh"
    subprocess.run([shell, "-n", str(script)], check=True)
    if shutil.which("shellcheck"):
        result = subprocess.run(
            ["shellcheck", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", ["postinst", "prerm", "postrm"])
def test_maintainer_scripts_never_fail_for_missing_tools(script: str, tmp_path: Path) -> None:
    # Only the package's own dependencies: no update-desktop-database, no gtk-update-icon-cache,
    # no systemctl, deb-systemd-invoke or deb-systemd-helper.
    tools = StandIns(tmp_path).without("systemctl", "deb-systemd-invoke", "deb-systemd-helper")
    for argument in ("configure", "remove", "purge"):
        result = tools.run(script, argument)
        assert result.returncode == 0, result.stderr


class StandIns:
    """A PATH of stand-ins for the commands a maintainer script runs, each recording its
    arguments (one line per call), so the scripts can be run here without changing this
    machine's users, files or services. The two questions the scripts ask, ``getent passwd``
    (does the user exist?) and ``dpkg-statoverride --list`` (is there an override?), answer
    no unless *known* names them; every other call succeeds."""

    def __init__(self, folder: Path, known: tuple[str, ...] = ()) -> None:
        self.bin = folder / "bin"
        self.bin.mkdir()
        self.log = folder / "calls"
        self.log.touch()
        for tool in (*PACKAGE_TOOLS, "systemctl", "deb-systemd-invoke", "deb-systemd-helper"):
            question = {"getent": "passwd", "dpkg-statoverride": "--list"}.get(tool)
            answer = 0 if tool in known else {"getent": 2}.get(tool, 1)
            stand_in = self.bin / tool
            stand_in.write_text(
                f'#!/bin/sh\necho "{tool} $*" >>"{self.log}"\n'
                + (f'[ "$1" = "{question}" ] && exit {answer}\n' if question else "")
                + "exit 0\n"
            )
            stand_in.chmod(0o755)

    def without(self, *tools: str) -> StandIns:
        for tool in tools:
            (self.bin / tool).unlink()
        return self

    def run(self, script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["/bin/sh", str(DEBIAN / script), *arguments],
            env={"PATH": str(self.bin)},
            capture_output=True,
            text=True,
            check=False,
        )

    @property
    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()


def test_a_first_install_makes_the_server_user_and_leaves_the_server_off(tmp_path: Path) -> None:
    tools = StandIns(tmp_path)
    result = tools.run("postinst", "configure", "")
    assert result.returncode == 0, result.stderr
    assert tools.calls[:5] == [
        "getent passwd tokendesk",
        "adduser --system --group --quiet --home /var/lib/tokendesk --gecos TokenDesk "
        "forward-auth server tokendesk",
        "chmod 0700 /var/lib/tokendesk",
        f"dpkg-statoverride --list {ENV_FILE}",
        f"dpkg-statoverride --update --add root tokendesk 0640 {ENV_FILE}",
    ]
    assert not any(call.startswith(("systemctl", "deb-systemd")) for call in tools.calls), (
        "the server needs a registry first: the package never enables or starts it"
    )
    assert "systemctl enable --now tokendesk-serve" in result.stdout
    assert ENV_FILE in result.stdout


def test_an_upgrade_keeps_the_user_and_the_administrators_override(tmp_path: Path) -> None:
    tools = StandIns(tmp_path, known=("getent", "dpkg-statoverride"))
    result = tools.run("postinst", "configure", "0.0.9")
    assert result.returncode == 0, result.stderr
    assert tools.calls == ["getent passwd tokendesk", f"dpkg-statoverride --list {ENV_FILE}"]
    assert result.stdout == ""


def test_a_purge_forgets_the_override_and_the_units_state_but_not_the_user(
    tmp_path: Path,
) -> None:
    tools = StandIns(tmp_path, known=("dpkg-statoverride",))
    assert tools.run("postrm", "purge").returncode == 0
    assert tools.calls == [
        f"dpkg-statoverride --list {ENV_FILE}",
        f"dpkg-statoverride --remove {ENV_FILE}",
        f"deb-systemd-helper purge {UNIT}",
    ]
    assert tools.run("postrm", "remove").returncode == 0
    assert len(tools.calls) == 3  # a removal keeps both for a reinstall


def unit_settings(text: str) -> dict[str, list[str]]:
    """A systemd unit's ``Key=value`` lines, by "Section.Key", every value of a repeated key."""
    settings: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


def test_the_server_unit_runs_unprivileged_from_its_environment_file() -> None:
    unit = unit_settings((DEBIAN / UNIT).read_text())
    service = {key.partition(".")[2]: values for key, values in unit.items() if key[0] == "S"}
    assert service["User"] == service["Group"] == ["tokendesk"]
    assert service["EnvironmentFile"] == [ENV_FILE]
    assert service["ExecStart"] == [
        "/usr/bin/tokendesk serve --listen ${TOKENDESK_LISTEN} $TOKENDESK_SERVE_OPTIONS"
    ]
    assert service["KillSignal"] == ["SIGTERM"] and service["TimeoutStopSec"] == ["30"]
    assert service["Restart"] == ["on-failure"]
    for hardening in (
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectControlGroups",
        "RestrictSUIDSGID",
        "LockPersonality",
    ):
        assert service[hardening] == ["yes"], hardening
    assert service["ProtectSystem"] == ["strict"]
    assert service["CapabilityBoundingSet"] == [""]
    assert unit["Install.WantedBy"] == ["multi-user.target"]
    env = unit_settings((DEBIAN / "serve.env").read_text())
    assert env == {
        ".TOKENDESK_DATABASE": [""],
        ".TOKENDESK_LISTEN": ["127.0.0.1:8181"],
        ".TOKENDESK_SERVE_OPTIONS": [""],
    }


@pytest.fixture(scope="module")
def server_deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb .ci/build-deb makes around a stand-in bundle (an ELF executable of this
    machine's), so its packaging, not PyInstaller's bundle, is what is checked."""
    folder = tmp_path_factory.mktemp("deb")
    for tool in ("dpkg-deb", "readelf", "ldconfig"):
        if shutil.which(tool) is None and not Path("/sbin", tool).exists():
            pytest.skip(f"{tool} not installed: .ci/build-deb needs it")
    bundle = folder / "bundle"
    bundle.mkdir()
    shutil.copy("/bin/true", bundle / "tokendesk")
    result = subprocess.run(
        [str(CI / "build-deb"), "--bundle", str(bundle), "--output", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (deb,) = folder.glob("tokendesk_*.deb")
    return deb


def test_the_deb_ships_the_unit_and_keeps_serve_env_as_a_private_conffile(
    server_deb: Path,
) -> None:
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(server_deb)], capture_output=True, text=True, check=True
    ).stdout
    entries = {
        line.split()[-1].removeprefix("."): line.split()[:2] for line in listing.splitlines()
    }
    assert entries[ENV_FILE] == ["-rw-r-----", "root/root"]  # postinst adds group tokendesk
    assert entries[f"/lib/systemd/system/{UNIT}"] == ["-rw-r--r--", "root/root"]
    control = folder_of(server_deb)
    assert (control / "conffiles").read_text() == ENV_FILE + "\n"
    assert ", adduser," in (control / "control").read_text()
    for script in ("postinst", "prerm", "postrm"):
        assert (control / script).read_bytes() == (DEBIAN / script).read_bytes()
        assert (control / script).stat().st_mode & 0o777 == 0o755


def folder_of(deb: Path) -> Path:
    """The .deb's control files, extracted beside it."""
    control = deb.parent / "control"
    if not control.exists():
        subprocess.run(["dpkg-deb", "--control", str(deb), str(control)], check=True)
    return control


def test_systemd_accepts_the_unit_as_packaged(server_deb: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        message = "systemd-analyze not installed (apt-get install systemd)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "--extract", str(server_deb), str(root)], check=True)
    # The targets the unit is ordered after and wanted by, from this machine's systemd.
    units = root / "lib" / "systemd" / "system"
    for target in Path("/lib/systemd/system").glob("*.target"):
        shutil.copy(target, units)
    (root / "usr" / "bin" / "tokendesk").unlink()  # a link to /opt, outside this root
    shutil.copy("/bin/true", root / "usr" / "bin" / "tokendesk")
    result = subprocess.run(
        [analyze, "verify", "--man=no", f"--root={root}", UNIT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


# ---------------------------------------------------------------------------- a built bundle


@pytest.mark.skipif(not os.environ.get("TOKENDESK_BUNDLE"), reason="TOKENDESK_BUNDLE not set")
def test_the_frozen_self_test_passes(keyring_store: KeyringSecretStore, data_dir: Path) -> None:
    executable = os.environ["TOKENDESK_BUNDLE"]
    result = subprocess.run(
        [executable, "--self-test", "--data-dir", str(data_dir)],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(bundle in " in result.stdout
    assert "desktop.secrets.secret_service.SecretService" in result.stdout
