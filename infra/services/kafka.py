"""A real Apache Kafka broker on this machine: resolved, formatted, started and stopped.

No container and no download of a release archive: the broker's jars come from Maven
Central through the machine's `mvn`, from the small POM beside this module, into a cache
outside the repository (`~/.cache/enrollment-ledger/kafka-<version>/libs`, or
`LEDGER_CACHE_DIR`), so later runs and CI reuse them. One process runs as broker and
controller (KRaft, single node) on 127.0.0.1.

`ledger services start|stop|status kafka` and the tests' session fixture both use
`KafkaBroker`; the CLI keeps its broker's files under `var/kafka/`, a test under a
temporary directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

POM = Path(__file__).with_name("kafka-pom.xml")
KAFKA_VERSION = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text()).group(1)  # type: ignore[union-attr]
READY_LINE = "Kafka Server started"


class ServiceError(RuntimeError):
    """A local service could not be resolved, started or stopped; the message says why."""


def cache_root() -> Path:
    """Where resolved jars are kept between runs (outside the repository)."""
    configured = os.environ.get("LEDGER_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "enrollment-ledger"


def resolve_jars(timeout: float = 900) -> Path:
    """The directory holding the broker's jars, resolving them with Maven on first use.

    Resolution writes into a temporary directory that is renamed into place when complete,
    under a file lock, so concurrent test sessions neither race nor see half a directory."""
    home = cache_root() / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    home.mkdir(parents=True, exist_ok=True)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError("Maven (`mvn`) is not installed: apt-get install -y maven")
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")):
            return libs  # another process resolved them while we waited
        partial = Path(tempfile.mkdtemp(prefix="libs.", dir=home))
        done = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={partial}",
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0 or not any(partial.glob("kafka_2.13-*.jar")):
            shutil.rmtree(partial, ignore_errors=True)
            tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
            raise ServiceError(
                f"Maven could not resolve Apache Kafka {KAFKA_VERSION}:\n" + "\n".join(tail)
            )
        partial.rename(libs)
    return libs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


_LOG4J = """\
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
"""


@dataclass
class KafkaBroker:
    """One single-node KRaft broker whose files (config, data, log, pid) live in `home`."""

    home: Path
    port: int = 9092
    controller_port: int | None = None  # default: port + 1
    heap: str = "512m"
    # Tests: the broker gets SIGTERM when the process that started it dies, even by SIGKILL
    # (Linux's parent-death signal), so an interrupted test session leaves no broker behind.
    die_with_parent: bool = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "broker.log"

    def _controller(self) -> int:
        return self.controller_port or self.port + 1

    # --- state -------------------------------------------------------------------------

    def pid(self) -> int | None:
        """The broker's process id if it is running."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        # A recycled pid is not our broker: its command line names our config.
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if str(self.home / "server.properties").encode() not in cmdline:
            return None
        if _zombie(pid):
            return None
        return pid

    def running(self) -> bool:
        return self.pid() is not None and port_open(self.port)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 90) -> None:
        """Format storage (first time), start the broker, wait until it serves clients."""
        if self.pid() is not None:
            if self._wait_ready(timeout, None):
                return
            raise ServiceError(f"a broker process runs from {self.home} but does not answer")
        if port_open(self.port) or port_open(self._controller()):
            raise ServiceError(
                f"port {self.port} or {self._controller()} on 127.0.0.1 is "
                "already taken by another process"
            )
        libs = resolve_jars()
        java = shutil.which("java")
        if java is None:
            raise ServiceError("Java is not installed: apt-get install -y default-jre-headless")
        self.home.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        classpath = f"{libs}/*"
        if not (self.home / "data" / "meta.properties").exists():
            cluster = subprocess.run(
                [java, "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"],
                capture_output=True,
                text=True,
                check=False,
                env=self._env(),
            ).stdout.strip()
            formatted = subprocess.run(
                [
                    java,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    cluster or uuid.uuid4().hex,
                    "-c",
                    str(config),
                ],
                capture_output=True,
                text=True,
                check=False,
                env=self._env(),
            )
            if formatted.returncode != 0:
                raise ServiceError(
                    "formatting the broker's storage failed:\n"
                    + (formatted.stdout + formatted.stderr)[-2000:]
                )
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    java,
                    f"-Xms{self.heap}",
                    f"-Xmx{self.heap}",
                    "-XX:+UseSerialGC",
                    f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                    "-Dlog4j2.shutdownHookEnabled=false",
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self._env(),
                # a single prctl call between fork and exec: no lock or allocation involved
                preexec_fn=_parent_death_signal if self.die_with_parent else None,
            )
        self.pid_file.write_text(str(process.pid))
        if not self._wait_ready(timeout, offset, process):
            self.stop()
            raise ServiceError(
                f"the broker did not start within {timeout:.0f} s; "
                f"last lines of {self.log_file}:\n{self._tail()}"
            )

    def stop(self, timeout: float = 30) -> bool:
        """SIGTERM (a clean shutdown keeps topics, offsets and groups); SIGKILL after
        `timeout`. Returns whether a broker was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL: a crash, for tests of recovery."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
            self.pid_file.unlink(missing_ok=True)

    # --- internals ---------------------------------------------------------------------

    def _wait_ready(
        self, timeout: float, offset: int | None, process: subprocess.Popen[bytes] | None = None
    ) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return False
            if port_open(self.port) and (offset is None or self._logged_ready(offset)):
                return True
            time.sleep(0.2)
        return False

    def _logged_ready(self, offset: int) -> bool:
        with self.log_file.open("rb") as log:
            log.seek(offset)
            return READY_LINE.encode() in log.read()

    def _tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("KAFKA_OPTS", None)
        env.pop("JAVA_TOOL_OPTIONS", None)
        return env

    def _write_config(self) -> Path:
        data = self.home / "data"
        controller = self._controller()
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "2",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "log.flush.interval.messages": "9223372036854775807",
        }
        config = self.home / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in properties.items()))
        (self.home / "log4j2.properties").write_text(_LOG4J.format(level="WARN"))
        return config


def _parent_death_signal() -> None:
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    if _zombie(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # our own child: reap it
        return False
    return True


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
