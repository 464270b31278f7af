"""Apache Kafka in KRaft mode (one node, broker + controller) from Maven Central jars."""

from __future__ import annotations

import base64
import shutil
import uuid
from pathlib import Path

from deploy.local_stack.base import LocalService
from deploy.local_stack.process import port_open, run_checked, say, spawn

POM = Path(__file__).resolve().parent.parent / "kafka" / "pom.xml"
LOG4J_CONFIG = Path(__file__).resolve().parent.parent / "kafka" / "log4j2.properties"

SERVER_PROPERTIES = """\
# Written by `ledgerline services up`; edit the settings, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={host}:{controller_port}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners=PLAINTEXT://{host}:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={log_dirs}
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=300000
"""


class KafkaService(LocalService):
    name = "kafka"
    health_probe = "broker metadata"

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.settings.kafka.bootstrap_servers.split(",")[0].rpartition(":")
        return host or "127.0.0.1", int(port)

    @property
    def libs_dir(self) -> Path:
        return self.cache_root / f"kafka-{self.settings.services.kafka_version}" / "libs"

    def endpoint(self) -> str:
        return self.settings.kafka.bootstrap_servers

    def install(self) -> None:
        marker = self.libs_dir / ".complete"
        if marker.exists():
            return
        if shutil.which("java") is None or shutil.which("mvn") is None:
            raise RuntimeError("kafka: Java and Maven are required to fetch the broker from Maven Central")
        say(self.name, f"fetching Kafka {self.settings.services.kafka_version} jars from Maven Central")
        self.libs_dir.mkdir(parents=True, exist_ok=True)
        run_checked(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs_dir}",
                "-DincludeScope=runtime",
                f"-Dkafka.version={self.settings.services.kafka_version}",
            ],
            self.name,
        )
        marker.write_text("ok\n")

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
            "-cp",
            f"{self.libs_dir}/*",
            main_class,
            *args,
        ]

    def _configure(self) -> Path:
        host, port = self.host_port
        config = self.data_dir / "server.properties"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config.write_text(
            SERVER_PROPERTIES.format(
                host=host,
                port=port,
                controller_port=self.settings.kafka.controller_port,
                log_dirs=self.data_dir / "data",
            )
        )
        return config

    def format_storage(self, config: Path, cluster_id: str | None = None) -> str:
        """Format the KRaft log directory of `config` for a new cluster; returns its id.

        The id is URL-safe base64, so about one in 64 begins with "-": passed as its own
        argument it read as an option, and the format failed. Attached with "=" it cannot."""
        cluster_id = cluster_id or base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        say(self.name, f"formatting KRaft storage (cluster {cluster_id})")
        run_checked(
            self._java(
                "kafka.tools.StorageTool", "format", "--standalone", f"--cluster-id={cluster_id}", "-c", str(config)
            ),
            self.name,
        )
        return cluster_id

    def start(self) -> None:
        config = self._configure()
        if not (self.data_dir / "data" / "meta.properties").exists():
            self.format_storage(config)
        pid = spawn(self._java("kafka.Kafka", str(config)), self.log_path, self.pid_path)
        say(self.name, f"started pid {pid}, log {self.log_path}")

    def is_healthy(self) -> bool:
        if not port_open(*self.host_port):
            return False
        from confluent_kafka.admin import AdminClient

        try:
            metadata = AdminClient({"bootstrap.servers": self.endpoint()}).list_topics(timeout=2)
        except Exception:  # noqa: BLE001 - not answering yet
            return False
        return bool(metadata.brokers)
